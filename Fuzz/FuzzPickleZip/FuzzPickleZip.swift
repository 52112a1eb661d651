import FuzzSupport
import MobileNetIO

/// The input as the pickle (`archive/data.pkl`) of an otherwise valid zip-layout `.pth`, so
/// that every mutation reaches the unpickler and the tensor records (the archive's CRC-32s
/// would stop nearly all of them in `FuzzCheckpoint`), and to the
/// archive's storage lookup; `FuzzPickle` does the same through the legacy layout. Ten storages, `0` to `9`, of 128 bytes
/// each are there for tensors to name (the seeds' keys); `byteorder` is `little`.
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var entries: [(name: String, bytes: [UInt8])] = [("archive/data.pkl", Array(fuzzBytes(data, size)))]
    entries.append(("archive/byteorder", Array("little".utf8)))
    for index in 0..<10 {
        entries.append(("archive/data/\(index)", (0..<128).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ index) }))
    }
    entries.append(("archive/version", Array("3\n".utf8)))
    let url = FuzzScratch.write(StoredZip.archive(entries), name: "input.pth")
    _ = try? PyTorchCheckpoint.read(contentsOf: url)
    return 0
}
