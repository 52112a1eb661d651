/// The bytes of numbers as both file formats store them: little-endian, one after the other.
extension Array where Element: FixedWidthInteger {
    var littleEndianBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * MemoryLayout<Element>.size)
        for value in self {
            Swift.withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }
}

extension Array where Element == Float {
    var littleEndianBytes: [UInt8] { map(\.bitPattern).littleEndianBytes }
}
