import Foundation
import FuzzSupport
import MobileNetIO

/// `ImageDecoder.decode(_:source:)` on the input held in memory, EXIF orientation applied, as
/// `classify` and the image-folder loader decode a picture. The format is chosen by the leading
/// bytes, so the PNG seeds steer this harness to the PNG decoder (libspng) and its
/// EXIF parsing; a decoded picture must hold width x height x 3 bytes.
/// Headers of more than 2^18 pixels that the decoder would accept are skipped, for speed (`ImageSizeCap`).
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzBytes(data, size)
    if ImageSizeCap.skips(input) { return 0 }
    let bytes = Data(input)
    if let image = try? ImageDecoder.decode(bytes, source: "input.png") {
        precondition(image.isWellFormed && image.width > 0 && image.height > 0, "decoded \(image) is malformed")
    }
    return 0
}
