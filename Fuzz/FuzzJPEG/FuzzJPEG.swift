import FuzzSupport

/// `ImageDecoder.decode` on the input (``fuzzImageDecoder(_:source:)``): the JPEG seeds steer
/// this harness to the JPEG decoder (libjpeg-turbo) and its EXIF parsing. Headers of more than
/// 2^18 pixels that the decoder would accept are skipped, for speed (`ImageSizeCap`).
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzImageDecoder(fuzzBytes(data, size), source: "input.jpeg")
    return 0
}
