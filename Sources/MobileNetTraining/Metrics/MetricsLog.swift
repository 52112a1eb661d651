import Foundation
import MobileNetIO

/// `metrics.csv`: one row per epoch, written whole and atomically after every epoch, so that a
/// run killed at any moment leaves a complete file (and a resumed run rewrites it from its
/// checkpoint's history).
///
/// ```text
/// epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second,ema_val_loss,ema_val_accuracy
/// 1,0.612345,0.7791,0.45012,0.8366,0.1,61.2,980.4,,
/// ```
///
/// An epoch without validation leaves its `val_` fields empty, a run without a weight average
/// (`--ema`) its `ema_` fields. A detector's file (``detectionHeader``) adds the COCO average
/// precision of the held-out data, `ap,ap50,ap75`; its accuracies are those of the matched anchors.
/// A segmenter's (``segmentationHeader``) adds `mean_iou`; its accuracies are pixel accuracies. Numbers are written with Swift's
/// shortest round-trip formatting, so reading the file back gives the same values.
public enum MetricsLog {
    public static let header =
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second,ema_val_loss,ema_val_accuracy"
    /// The header of a detector's file.
    public static let detectionHeader = header + ",ap,ap50,ap75"
    /// The header of a segmenter's file.
    public static let segmentationHeader = header + ",mean_iou"

    /// The CSV text of `records`.
    public static func csv(_ records: [EpochMetrics]) -> String {
        let detection = records.contains(where: \.isDetection), segmentation = records.contains(where: \.isSegmentation)
        var lines = [detection ? detectionHeader : segmentation ? segmentationHeader : header]
        for record in records {
            var fields: [String] = [
                String(record.epoch), String(record.trainLoss), String(record.trainAccuracy),
                record.validationLoss.map { String($0) } ?? "", record.validationAccuracy.map { String($0) } ?? "",
                String(record.learningRate), String(record.seconds), String(record.imagesPerSecond),
                record.averageValidationLoss.map { String($0) } ?? "", record.averageValidationAccuracy.map { String($0) } ?? "",
            ]
            if detection {
                fields += [record.averagePrecision, record.averagePrecision50, record.averagePrecision75].map { $0.map { String($0) } ?? "" }
            } else if segmentation {
                fields.append(record.meanIoU.map { String($0) } ?? "")
            }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `records` to `url` atomically, replacing what was there.
    public static func write(_ records: [EpochMetrics], to url: URL) throws {
        try AtomicFile.write(Data(csv(records).utf8), to: url)
    }

    /// Reads a file that ``write(_:to:)`` wrote.
    ///
    /// - Throws: ``MetricsFileError`` naming the file and line when the header or a row does not
    ///   have the expected fields.
    public static func read(from url: URL) throws -> [EpochMetrics] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw MetricsFileError(path: url.path, line: 0, problem: "cannot read it: \(error.localizedDescription)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let detection = lines.first.map(String.init) == detectionHeader
        let segmentation = lines.first.map(String.init) == segmentationHeader
        guard detection || segmentation || lines.first.map(String.init) == header else {
            throw MetricsFileError(
                path: url.path, line: 1, problem: "expected the header \(header) (with ,ap,ap50,ap75 for a detector, ,mean_iou for a segmenter)")
        }
        let fieldCount = detection ? 13 : segmentation ? 11 : 10
        return try lines.dropFirst().enumerated().map { offset, line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let lineNumber = offset + 2
            func number(_ index: Int) throws -> Double {
                guard let value = Double(fields[index]) else {
                    throw MetricsFileError(path: url.path, line: lineNumber, problem: "field \(index + 1) is '\(fields[index])', expected a number")
                }
                return value
            }
            func optionalNumber(_ index: Int) throws -> Double? { fields[index].isEmpty ? nil : try number(index) }
            guard fields.count == fieldCount, let epoch = Int(fields[0]) else {
                throw MetricsFileError(path: url.path, line: lineNumber, problem: "expected \(fieldCount) fields starting with an epoch number")
            }
            return EpochMetrics(
                epoch: epoch, trainLoss: try number(1), trainAccuracy: try number(2), validationLoss: try optionalNumber(3),
                validationAccuracy: try optionalNumber(4), learningRate: try number(5), seconds: try number(6),
                imagesPerSecond: try number(7), averageValidationLoss: try optionalNumber(8),
                averageValidationAccuracy: try optionalNumber(9), averagePrecision: detection ? try optionalNumber(10) : nil,
                averagePrecision50: detection ? try optionalNumber(11) : nil, averagePrecision75: detection ? try optionalNumber(12) : nil,
                meanIoU: segmentation ? try optionalNumber(10) : nil)
        }
    }
}

/// A metrics file that does not hold what ``MetricsLog`` writes.
public struct MetricsFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var problem: String

    public var description: String { "\(path):\(line): \(problem)" }
}
