#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The rules of a training run's folder (`mobilenet train --output`), in one place:
///
/// - A new run starts only in a folder that does not exist yet or is empty, so no file of an
///   earlier run, nor any other file a user keeps there, is ever replaced. Continuing a run is
///   resuming it.
/// - The names a run's JSON gives (`latest.json` → `epoch-N.json` → its `.safetensors`) are plain
///   file names inside the folder, and a symbolic link that leads out of the folder is refused:
///   a crafted or mistaken checkpoint never makes the trainer, or `evaluate`, read a file elsewhere.
/// - The temporary files that atomic writes leave behind when a process is killed mid-write
///   (`.<name>.<random>.partial`) are removed when a run starts or resumes.
public enum RunFolder {
    /// Makes `url` ready for a new run: creates it, with its parents, when it does not exist.
    ///
    /// - Throws: ``TrainingError/outputNotEmpty(path:)`` when it holds a run (a `latest.json`),
    ///   ``RunFolderError/notEmpty(path:files:)`` when it holds anything else but stale temporary
    ///   files, ``RunFolderError/notAFolder(path:)`` for a file, and
    ///   ``RunFolderError/cannotCreate(path:reason:)``.
    public static func prepareForNewRun(at url: URL) throws {
        try checkForNewRun(at: url)
        if try exists(url) {
            try removeStalePartialFiles(in: url)
        } else {
            try createFolder(url)
        }
    }

    /// The checks of ``prepareForNewRun(at:)``, which changes nothing: for a caller that has
    /// other work to do (and to fail) before it creates the folder.
    public static func checkForNewRun(at url: URL) throws {
        guard try exists(url) else {
            // Nothing there yet: what is in the way of creating it is a file among its ancestors.
            if let file = try fileAmongAncestors(of: url) {
                throw RunFolderError.cannotCreate(path: url.path, reason: "\(file.path) is a file, not a folder")
            }
            return
        }
        try requireFolder(url)
        if try exists(url.appendingPathComponent(TrainingCheckpoint.latestName)) {
            throw TrainingError.outputNotEmpty(path: url.path)
        }
        let others = try contents(of: url).filter { !isPartialFileName($0) }
        guard others.isEmpty else { throw RunFolderError.notEmpty(path: url.path, files: others) }
    }

    /// Checks that `url` is a folder (following a symbolic link the user gave as the folder itself).
    ///
    /// - Throws: ``RunFolderError/notAFolder(path:)``, or ``RunFolderError/unreadable(path:reason:)``
    ///   for a path that cannot be looked at (a loop of links, a missing permission).
    public static func requireFolder(_ url: URL) throws {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            throw RunFolderError.unreadable(path: url.path, reason: systemError(errno))
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw RunFolderError.notAFolder(path: url.path) }
    }

    /// Removes the temporary files of interrupted atomic writes from `url`, and returns their names.
    @discardableResult
    public static func removeStalePartialFiles(in url: URL) throws -> [String] {
        var removed: [String] = []
        for name in try contents(of: url) where isPartialFileName(name) {
            let path = url.appendingPathComponent(name).path
            var status = stat()
            // Only files (or links, which unlink removes without following); never a folder.
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFDIR else { continue }
            guard unlink(path) == 0 || errno == ENOENT else {
                throw RunFolderError.unreadable(path: path, reason: "cannot remove this stale temporary file: \(systemError(errno))")
            }
            removed.append(name)
        }
        return removed.sorted()
    }

    /// Whether `name` is one of the temporary files that `AtomicFile` writes beside a destination.
    static func isPartialFileName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".partial")
    }

    /// The file called `name` in `folder`, where `name` was read from `referencedBy`, a file of the run.
    ///
    /// - Throws: ``RunFolderError/nameOutsideFolder(name:referencedBy:)`` for a name that is not a
    ///   plain file name (a path, `..`, empty), ``RunFolderError/linkOutsideFolder(path:target:)``
    ///   for a symbolic link out of the folder.
    static func member(_ name: String, of folder: URL, referencedBy: String) throws -> URL {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
            throw RunFolderError.nameOutsideFolder(name: name, referencedBy: referencedBy)
        }
        let url = folder.appendingPathComponent(name)
        try requireInside(url, folder: folder)
        return url
    }

    /// Refuses `url`, a path directly in `folder`, when it is a symbolic link whose target lies
    /// outside `folder`. Anything else (a regular file, a link within the folder, nothing at all)
    /// passes; whether it exists is for the caller to say.
    static func requireInside(_ url: URL, folder: URL) throws {
        var status = stat()
        guard lstat(url.path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return }
        guard let target = realPath(url.path) else {
            // A dangling link or a loop of them: reported as the file that cannot be read.
            throw RunFolderError.unreadable(path: url.path, reason: "a symbolic link that leads nowhere (\(systemError(errno)))")
        }
        guard let base = realPath(folder.path), target.hasPrefix(base.hasSuffix("/") ? base : base + "/") else {
            throw RunFolderError.linkOutsideFolder(path: url.path, target: target)
        }
    }

    /// Whether something (a file, a folder, even a dangling link) is at `url`; not when a part
    /// of the path is missing or is a file.
    public static func exists(_ url: URL) throws -> Bool {
        var status = stat()
        if lstat(url.path, &status) == 0 { return true }
        guard errno == ENOENT || errno == ENOTDIR else { throw RunFolderError.unreadable(path: url.path, reason: systemError(errno)) }
        return false
    }

    private static func contents(of url: URL) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw RunFolderError.unreadable(path: url.path, reason: "cannot list the folder")
        }
    }

    /// The missing folders of `url`, outermost last, and the nearest ancestor that exists.
    private static func missingFolders(of url: URL) throws -> (missing: [URL], ancestor: URL) {
        var missing: [URL] = []
        var ancestor = url.standardizedFileURL
        while try !exists(ancestor), ancestor.pathComponents.count > 1 {
            missing.append(ancestor)
            ancestor.deleteLastPathComponent()
        }
        return (missing, ancestor)
    }

    /// The nearest existing ancestor of `url` when it is a file (which no folder can be created in).
    private static func fileAmongAncestors(of url: URL) throws -> URL? {
        let ancestor = try missingFolders(of: url).ancestor
        var status = stat()
        return stat(ancestor.path, &status) == 0 && status.st_mode & S_IFMT != S_IFDIR ? ancestor : nil
    }

    /// `mkdir -p`, with an error that says which part of the path is in the way.
    private static func createFolder(_ url: URL) throws {
        if let file = try fileAmongAncestors(of: url) {
            throw RunFolderError.cannotCreate(path: url.path, reason: "\(file.path) is a file, not a folder")
        }
        for folder in try missingFolders(of: url).missing.reversed() where mkdir(folder.path, 0o777) != 0 && errno != EEXIST {
            throw RunFolderError.cannotCreate(path: url.path, reason: "\(folder.path): \(systemError(errno))")
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func systemError(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// A run's folder cannot be used, or one of its files leads out of it.
public enum RunFolderError: Error, Hashable, Sendable, CustomStringConvertible {
    case notAFolder(path: String)
    case cannotCreate(path: String, reason: String)
    case notEmpty(path: String, files: [String])
    case nameOutsideFolder(name: String, referencedBy: String)
    case linkOutsideFolder(path: String, target: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notAFolder(path):
            "\(path) is a file; a run's folder must be a folder (or a path to create)"
        case let .cannotCreate(path, reason):
            "cannot create the run's folder \(path): \(reason)"
        case let .notEmpty(path, files):
            "\(path) holds files but no training run to resume (\(Self.sample(files))); "
                + "a new run starts only in a new or empty folder, so choose another --output or remove them"
        case let .nameOutsideFolder(name, referencedBy):
            "\(referencedBy) names \"\(name)\", which is not a file name inside its folder; refused"
        case let .linkOutsideFolder(path, target):
            "\(path) is a symbolic link out of the run's folder (to \(target)); refused"
        case let .unreadable(path, reason):
            "\(path): \(reason)"
        }
    }

    /// The first few names, sorted, and how many more there are.
    private static func sample(_ files: [String]) -> String {
        let sorted = files.sorted()
        let shown = sorted.prefix(3).joined(separator: ", ")
        return sorted.count > 3 ? "\(shown) and \(sorted.count - 3) more" : shown
    }
}
