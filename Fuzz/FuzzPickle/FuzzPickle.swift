import FuzzSupport
import MobileNetIO

/// The input as a legacy `.pth` (the layout before PyTorch 1.6) after its first three pickles:
/// the harness writes the magic number, the protocol version 1001 and the system information
/// (little-endian) that `torch.save` puts first, then the input, which the seed fills with the
/// object pickle, the list of storage keys and the storages' records. So the fuzzer's bytes go
/// straight to the unpickler, the state-dictionary search and the storage walk, with no zip in
/// between: this harness runs with LeakSanitizer on (the zip ones cannot, see the Makefile).
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = FuzzScratch.write(legacyHeader + Array(fuzzBytes(data, size)), name: "input.pth")
    _ = try? PyTorchCheckpoint.read(contentsOf: url)
    return 0
}

/// The magic number 0x1950A86A20F9469CFC6C (LONG1), the protocol version 1001 (BININT2) and
/// `{"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}`,
/// as `torch.save` pickles them (the first 137 bytes of Tests/.../tiny_legacy.pth).
let legacyHeader: [UInt8] =
    [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    + [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
    + [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28, 0x58, 0x10, 0x00, 0x00, 0x00] + Array("protocol_version".utf8)
    + [0x71, 0x01, 0x4D, 0xE9, 0x03, 0x58, 0x0D, 0x00, 0x00, 0x00] + Array("little_endian".utf8)
    + [0x71, 0x02, 0x88, 0x58, 0x0A, 0x00, 0x00, 0x00] + Array("type_sizes".utf8)
    + [0x71, 0x03, 0x7D, 0x71, 0x04, 0x28, 0x58, 0x05, 0x00, 0x00, 0x00] + Array("short".utf8)
    + [0x71, 0x05, 0x4B, 0x02, 0x58, 0x03, 0x00, 0x00, 0x00] + Array("int".utf8)
    + [0x71, 0x06, 0x4B, 0x04, 0x58, 0x04, 0x00, 0x00, 0x00] + Array("long".utf8)
    + [0x71, 0x07, 0x4B, 0x04, 0x75, 0x75, 0x2E]
