import MobileNetTensor

extension Tensor {
    /// Lends the elements as little-endian float32 bytes, the byte order both checkpoint formats
    /// write; a copy is made only on a big-endian machine.
    func withLittleEndianBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        #if _endian(little)
        return try withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
        #else
        let swapped = scalars.map { $0.bitPattern.littleEndian }
        return try swapped.withUnsafeBytes { try body($0) }
        #endif
    }
}
