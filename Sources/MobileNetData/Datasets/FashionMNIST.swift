import Foundation
import MobileNetIO

/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70,000 grayscale 28x28 pictures of clothing in
/// ten classes, 60,000 for training and 10,000 for testing, read from the four gzip-compressed
/// IDX files that Debian's `dataset-fashion-mnist` installs.
///
/// ```swift
/// let train = try FashionMNIST(split: .train)                 // /usr/share/datasets/fashion-mnist
/// let quick = train.prefix(5_000)                             // --limit 5000
/// let picture = try train.image(at: 0)                        // 28x28, gray copied into R, G and B
/// ```
///
/// Pictures are gray replicated to three channels, so that the same RGB models and transforms
/// serve both datasets; normalize them with ``mean`` and ``standardDeviation``.
public struct FashionMNIST: ImageDataset {
    /// Which of the two published sets.
    public enum Split: String, Sendable, Hashable, CaseIterable {
        case train
        case test

        /// The file-name prefix the distribution uses for this split.
        var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where Debian's `dataset-fashion-mnist` puts the files.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// torchvision's `FashionMNIST.classes`, in label order.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// The mean of every pixel of the 60,000 training pictures, scaled to [0, 1]: 0.28604 (the
    /// same for the three replicated channels).
    public static let mean: [Float] = [0.2860, 0.2860, 0.2860]
    /// The population standard deviation of the same pixels: 0.35302.
    public static let standardDeviation: [Float] = [0.3530, 0.3530, 0.3530]

    public let split: Split
    /// The side of every picture, 28 in the published files.
    public let rows: Int
    public let columns: Int
    /// Every picture's bytes, `count * rows * columns`, row-major.
    public let pixels: [UInt8]
    /// Every picture's class index.
    public let labelBytes: [UInt8]
    private let imagesPath: String

    public var count: Int { labelBytes.count }
    public var classNames: [String] { Self.classNames }

    /// The image file and label file of `split` under `directory`.
    public static func files(for split: Split, in directory: URL = defaultDirectory) -> (images: URL, labels: URL) {
        (directory.appendingPathComponent("\(split.filePrefix)-images-idx3-ubyte.gz"),
         directory.appendingPathComponent("\(split.filePrefix)-labels-idx1-ubyte.gz"))
    }

    /// Reads and checks both files of `split`.
    ///
    /// - Throws: ``DatasetError`` naming the file: missing, unreadable, corrupt gzip, an IDX header
    ///   with the wrong magic number or a length that does not match its dimensions, a label
    ///   outside 0…9, or image and label files that disagree on the sample count.
    public init(split: Split, directory: URL = defaultDirectory) throws {
        let (imagesURL, labelsURL) = Self.files(for: split, in: directory)
        let images = try IDXFile(contentsOf: imagesURL, rank: 3)
        let labels = try IDXFile(contentsOf: labelsURL, rank: 1)
        try self.init(split: split, images: images, labels: labels, imagesPath: imagesURL.path, labelsPath: labelsURL.path)
    }

    init(split: Split, images: IDXFile, labels: IDXFile, imagesPath: String, labelsPath: String) throws {
        guard images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw DatasetError.malformedIDX(
                path: imagesPath, expected: "pictures with positive sides",
                found: "\(images.dimensions[1])x\(images.dimensions[2])")
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DatasetError.countMismatch(
                images: imagesPath, imageCount: images.dimensions[0], labels: labelsPath, labelCount: labels.dimensions[0])
        }
        if let bad = labels.bytes.firstIndex(where: { Int($0) >= Self.classNames.count }) {
            throw DatasetError.labelOutOfRange(
                path: labelsPath, index: bad, label: Int(labels.bytes[bad]), classCount: Self.classNames.count)
        }
        self.split = split
        rows = images.dimensions[1]
        columns = images.dimensions[2]
        pixels = images.bytes
        labelBytes = labels.bytes
        self.imagesPath = imagesPath
    }

    public func label(at index: Int) -> Int {
        Int(labelBytes[index])
    }

    /// Picture `index`, its gray level copied into red, green and blue.
    public func image(at index: Int) -> RGBImage {
        let size = rows * columns
        let start = index * size
        var rgb = [UInt8](repeating: 0, count: size * 3)
        for offset in 0..<size {
            let gray = pixels[start + offset]
            rgb[offset * 3] = gray
            rgb[offset * 3 + 1] = gray
            rgb[offset * 3 + 2] = gray
        }
        return RGBImage(width: columns, height: rows, pixels: rgb)
    }

    public func sourceName(at index: Int) -> String {
        "\(imagesPath)#\(index)"
    }
}
