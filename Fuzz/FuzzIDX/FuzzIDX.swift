import Foundation
import FuzzSupport
import MobileNetData

/// `FashionMNIST(split:directory:)` on a folder whose image or label file is the input, as
/// `train --dataset fashion-mnist` reads Debian's `dataset-fashion-mnist`: gzip decompression
/// (`Gzip.swift`, concatenated members too), the IDX header and size checks (`IDXFile.swift`),
/// the label range and the count agreement; then the first pictures and labels are read.
///
/// The first byte chooses: bit 0, the file the rest becomes (0: the images
/// `train-images-idx3-ubyte.gz`, 1: the labels `train-labels-idx1-ubyte.gz`; the other one is a
/// valid file of 2 pictures of 2x3); bit 1, whether the rest is the `.gz` file as is (0) or an
/// IDX file that the harness compresses first (1), so that mutations of the IDX bytes get past
/// gzip's CRC-32.
@main
enum Harness {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzBytes(data, size)
    guard let mode = input.first else { return 0 }
    let rest = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    let contents = mode & 2 == 0 ? Array(rest) : GzipEncoder.compress(rest)
    let (images, labels) = FashionMNIST.files(for: .train, in: FuzzScratch.folder)
    FuzzScratch.write(contents, name: mode & 1 == 0 ? images.lastPathComponent : labels.lastPathComponent)
    FuzzScratch.write(mode & 1 == 0 ? validLabels : validImages, name: mode & 1 == 0 ? labels.lastPathComponent : images.lastPathComponent)
    guard let dataset = try? FashionMNIST(split: .train, directory: FuzzScratch.folder) else { return 0 }
    for index in 0..<min(dataset.count, 16) {
        let image = dataset.image(at: index)
        precondition(image.isWellFormed, "picture \(index) is malformed: \(image)")
        precondition((0..<10).contains(dataset.label(at: index)), "label \(index) out of range")
    }
    return 0
}

/// Two 2x3 pictures, big-endian sizes after the magic number 0x00000803.
let validImages = GzipEncoder.compress(
    [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 40, 80, 120, 160, 200, 255, 215, 175, 135, 95, 55])
/// Their labels, 3 and 7, after the magic number 0x00000801.
let validLabels = GzipEncoder.compress([0, 0, 8, 1, 0, 0, 0, 2, 3, 7])
