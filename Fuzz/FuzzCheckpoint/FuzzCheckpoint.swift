import FuzzSupport
import MobileNetIO

/// `PyTorchCheckpoint.read(contentsOf:)` on the input as a `.pth` file: the zip layout of
/// PyTorch 1.6 and later, and the legacy pickles-back-to-back layout (chosen by sniffing, as
/// `convert` and `classify --weights` read them). Every failure must be a thrown error.
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = FuzzScratch.write(fuzzBytes(data, size), name: "input.pth")
    _ = try? PyTorchCheckpoint.read(contentsOf: url)
    return 0
}
