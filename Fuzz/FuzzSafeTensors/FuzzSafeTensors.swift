import FuzzSupport
import MobileNetIO

/// `SafeTensors.read(contentsOf:)` and `SafeTensors.readArchive(contentsOf:)` on the input as a
/// `.safetensors` file; every element of every tensor read is summed, so that a tensor viewing
/// the mapping past its end shows, and every metadata string is counted.
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = FuzzScratch.write(fuzzBytes(data, size), name: "input.safetensors")
    var sum: Float = 0
    if let tensors = try? SafeTensors.read(contentsOf: url) {
        for tensor in tensors.values {
            sum += tensor.withUnsafeBufferPointer { $0.reduce(0, +) }
        }
    }
    if let archive = try? SafeTensors.readArchive(contentsOf: url) {
        for tensor in archive.tensors.values {
            switch tensor {
            case let .float32(values): sum += values.withUnsafeBufferPointer { $0.reduce(0, +) }
            case let .int8(_, values): sum += Float(values.reduce(0) { $0 &+ Int($1) })
            case let .uint8(_, values): sum += Float(values.reduce(0) { $0 &+ Int($1) })
            case let .int32(_, values): sum += Float(values.reduce(0) { $0 &+ Int($1) })
            }
        }
        sum += Float(archive.metadata.reduce(0) { $0 &+ $1.key.utf8.count &+ $1.value.utf8.count })
    }
    blackHole(sum)
    return 0
}

@inline(never)
func blackHole(_ value: Float) {
    if value == 0x1p100 { print("") }
}
