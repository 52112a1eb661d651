import Foundation
import MobileNetIO

/// The names of the 1000 ImageNet-1k classes, index 0 ("tench") to 999 ("toilet tissue"), in
/// the order every ImageNet classifier's logits use.
///
/// The list is torchvision's `_IMAGENET_CATEGORIES` (BSD-3-Clause), bundled as
/// `Resources/imagenet_classes.txt`, one name per line.
public enum ImageNetLabels {
    public static let names: [String] = {
        guard let url = Bundle.module.url(forResource: "imagenet_classes", withExtension: "txt", subdirectory: "Resources"),
              let bytes = try? RegularFile.read(url.path), let text = String(data: bytes, encoding: .utf8)
        else {
            return []
        }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }()

    /// The name of class `index`, or `"class <index>"` outside 0..<1000.
    public static func name(_ index: Int) -> String {
        names.indices.contains(index) ? names[index] : "class \(index)"
    }
}
