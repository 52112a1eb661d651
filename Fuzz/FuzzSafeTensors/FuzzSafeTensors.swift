import FuzzSupport
import MobileNetIO

/// `SafeTensors.read(contentsOf:)` on the input as a `.safetensors` file; every element of
/// every tensor read is summed, so that a tensor viewing the mapping past its end shows.
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = FuzzScratch.write(fuzzBytes(data, size), name: "input.safetensors")
    if let tensors = try? SafeTensors.read(contentsOf: url) {
        var sum: Float = 0
        for tensor in tensors.values {
            tensor.withUnsafeBufferPointer { for value in $0 { sum += value } }
        }
        blackHole(sum)
    }
    return 0
}

@inline(never)
func blackHole(_ value: Float) {
    if value == 0x1p100 { print("") }
}
