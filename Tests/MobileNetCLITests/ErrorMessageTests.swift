import Foundation
import XCTest
@testable import mobilenet

/// Foundation's file errors reach the user as one line with the path and the reason in words,
/// not as `Error Domain=NSCocoaErrorDomain Code=516 … UserInfo={…}`.
final class ErrorMessageTests: XCTestCase {
    func testCocoaErrorsReadAsPathAndReason() {
        let exists = NSError(domain: NSCocoaErrorDomain, code: CocoaError.fileWriteFileExists.rawValue, userInfo: [
            NSFilePathErrorKey: "/tmp/run",
            NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(EEXIST)),
        ])
        XCTAssertEqual(FileErrorMessage.line(for: exists), "/tmp/run: a file or folder of that name already exists")
        let notFolder = NSError(domain: NSCocoaErrorDomain, code: CocoaError.fileWriteUnknown.rawValue, userInfo: [
            NSURLErrorKey: URL(fileURLWithPath: "/tmp/file/run"),
            NSUnderlyingErrorKey: POSIXError(.ENOTDIR),
        ])
        XCTAssertEqual(FileErrorMessage.line(for: notFolder), "/tmp/file/run: a part of the path is a file, not a folder")
        let permission = CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/srv/data/x"])
        XCTAssertEqual(FileErrorMessage.line(for: permission), "/srv/data/x: no permission")
        XCTAssertEqual(FileErrorMessage.line(for: CocoaError(.fileNoSuchFile)), "no such file or folder")
        XCTAssertEqual(FileErrorMessage.line(for: POSIXError(.ELOOP)), "too many symbolic links (a loop?)")
        XCTAssertNil(FileErrorMessage.line(for: CommandError(description: "other")))
    }

    /// A folder that cannot be made because a part of its path is a file.
    func testTheCommandReportsAFoundationErrorInOneLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("file-\(UUID().uuidString)")
        try Data().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = file.appendingPathComponent("run").path
        let run = try MobileNetProcess.run(
            ["train", "--dataset", "fashion-mnist", "--width", "0.35", "--epochs", "1", "--batch-size", "8", "--limit", "8", "--output", output])
        XCTAssertTrue((1..<128).contains(run.status), "status \(run.status)")
        XCTAssertTrue(run.error.hasPrefix("mobilenet: ") && run.error.contains(output), run.error)
        XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, run.error)
        XCTAssertFalse(run.error.contains("NSCocoaErrorDomain") || run.error.contains("UserInfo"), run.error)
        XCTAssertTrue(run.error.contains("not a folder"), run.error)
    }
}
