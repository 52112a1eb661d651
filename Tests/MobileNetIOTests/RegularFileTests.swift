#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MobileNetTensor
import XCTest

@testable import MobileNetIO

/// Every reader refuses what is not a regular file, at once: a FIFO (whose plain `open(2)` blocks
/// until a writer comes), a directory, a symbolic link loop (reported as such, not as a missing file).
final class RegularFileTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try CheckpointFixtures.temporaryDirectory(for: self)
    }

    func testCheckpointReadersRefuseAFIFOAtOnce() throws {
        let fifo = try makeFIFO("weights.pth")
        for read in checkpointReaders {
            let error = try XCTUnwrap(failureWithin(seconds: 5, unblocking: fifo) { _ = try read(fifo) })
            XCTAssertEqual(error as? CheckpointError,
                           .fileSystem(path: fifo.path, operation: "read", reason: "not a regular file (a FIFO)"))
            XCTAssertEqual("\(error)", "\(fifo.path): could not read: not a regular file (a FIFO)")
        }
    }

    func testImageDecoderRefusesAFIFOAtOnce() throws {
        let fifo = try makeFIFO("photo.jpg")
        let error = try XCTUnwrap(failureWithin(seconds: 5, unblocking: fifo) { _ = try ImageDecoder.decode(contentsOf: fifo) })
        XCTAssertEqual(error as? ImageError, .unreadableFile(path: fifo.path, reason: "not a regular file (a FIFO)"))
    }

    func testDirectoriesAreRefused() throws {
        for read in checkpointReaders {
            XCTAssertThrowsError(try read(folder)) { error in
                XCTAssertEqual(error as? CheckpointError,
                               .fileSystem(path: folder.path, operation: "read", reason: "not a regular file (a directory)"))
            }
        }
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: folder)) { error in
            XCTAssertEqual(error as? ImageError, .unreadableFile(path: folder.path, reason: "not a regular file (a directory)"))
        }
    }

    func testASymbolicLinkLoopIsReportedAsOne() throws {
        let loop = folder.appendingPathComponent("loop.pth")
        let other = folder.appendingPathComponent("other.pth")
        XCTAssertEqual(symlink(other.path, loop.path), 0)
        XCTAssertEqual(symlink(loop.path, other.path), 0)
        let loopReason = String(cString: strerror(ELOOP))
        for read in checkpointReaders {
            XCTAssertThrowsError(try read(loop)) { error in
                XCTAssertEqual(error as? CheckpointError, .fileSystem(path: loop.path, operation: "open", reason: loopReason))
                XCTAssertFalse("\(error)".contains("no such file"), "\(error)")
            }
        }
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: loop)) { error in
            XCTAssertEqual(error as? ImageError, .unreadableFile(path: loop.path, reason: "could not open it: \(loopReason)"))
        }
        #if os(Linux)
        XCTAssertEqual(loopReason, "Too many levels of symbolic links")
        #endif
    }

    func testRegularFilesBehindSymbolicLinksStillRead() throws {
        let link = folder.appendingPathComponent("link.pth")
        XCTAssertEqual(symlink(try CheckpointFixtures.url("tiny.pth").path, link.path), 0)
        XCTAssertFalse(try readStateDictionary(contentsOf: link).isEmpty)
    }

    // MARK: - Readable reasons

    func testFoundationErrorsBecomeOneReadableLine() throws {
        let missing = NSError(domain: NSCocoaErrorDomain, code: CocoaError.fileNoSuchFile.rawValue, userInfo: [
            NSFilePathErrorKey: "/x", NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(EISDIR)),
        ])
        XCTAssertEqual(readableReason(missing), String(cString: strerror(EISDIR)))
        XCTAssertEqual(readableReason(CocoaError(.fileWriteFileExists)), String(cString: strerror(EEXIST)))
        XCTAssertEqual(readableReason(CocoaError(.fileWriteNoPermission)), String(cString: strerror(EACCES)))
        XCTAssertEqual(readableReason(POSIXError(.ENOSPC)), String(cString: strerror(ENOSPC)))
        XCTAssertEqual(readableReason(MultiLineError()), "first line")
    }

    func testWritingAPictureIntoAMissingFolderIsOneLineNamingThePath() throws {
        let url = folder.appendingPathComponent("absent/plot.png")
        XCTAssertThrowsError(try PNGEncoder.write(RGBImage(width: 1, height: 1, red: 1, green: 2, blue: 3), to: url)) { error in
            XCTAssertEqual(error as? ImageError, .unwritableFile(path: url.path, reason: String(cString: strerror(ENOENT))))
            XCTAssertEqual("\(error)", "\(url.path): cannot write the file: \(String(cString: strerror(ENOENT)))")
            XCTAssertFalse("\(error)".contains("\n"), "\(error)")
            XCTAssertFalse("\(error)".contains("Domain="), "\(error)")
        }
    }

    // MARK: - Helpers

    private let checkpointReaders: [@Sendable (URL) throws -> [String: Tensor]] = [
        PyTorchCheckpoint.read(contentsOf:), SafeTensors.read(contentsOf:), readStateDictionary(contentsOf:),
    ]

    private func makeFIFO(_ name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        XCTAssertEqual(mkfifo(url.path, 0o600), 0, String(cString: strerror(errno)))
        return url
    }

    /// The error `body` throws, failing the test if it takes longer than `seconds`; a reader
    /// stuck opening `fifo` is then released by opening its other end, so the suite goes on.
    private func failureWithin(seconds: Double, unblocking fifo: URL, _ body: @escaping @Sendable () throws -> Void) -> Error? {
        let result = FailureBox()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do { try body() } catch { result.error = error }
            done.signal()
        }
        if done.wait(timeout: .now() + seconds) == .timedOut {
            XCTFail("still reading \(fifo.path) after \(seconds) s")
            let writer = open(fifo.path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            done.wait()
        }
        if result.error == nil { XCTFail("reading \(fifo.path) did not fail") }
        return result.error
    }
}

private final class FailureBox: @unchecked Sendable {
    var error: Error?
}

private struct MultiLineError: Error, CustomStringConvertible {
    var description: String { "first line\nsecond line" }
}
