import MobileNetTensor

/// An element type a checkpoint may store, with its conversion to `Float`, the only type a
/// ``Tensor`` holds.
///
/// Integers appear in float MobileNet checkpoints only as batch norm's `num_batches_tracked`
/// counter (int64), which no computation reads; converting them to Float keeps every key loadable,
/// and is exact up to 2^24. int8 and uint8 belong to quantized models, which
/// ``SafeTensors/readArchive(contentsOf:)`` reads exactly; the float readers refuse them (see
/// ``convertedToFloat``).
enum StoredElementType: String, CaseIterable, Sendable {
    case float32, float64, float16, bfloat16, int64, int32, int8, uint8

    /// The types the float readers (`.pth` and ``SafeTensors/read(contentsOf:)``) convert.
    ///
    /// int8 and uint8 are left out: in a checkpoint they are quantized weights and activations,
    /// meaningless as floats without their scales, so reading them as a float state dictionary
    /// would load a model that silently computes nonsense.
    static let convertedToFloat: [StoredElementType] = [.float32, .float64, .float16, .bfloat16, .int64, .int32]

    /// The type a ``StoredTensor`` of `dtype` is stored as.
    init(_ dtype: DType) {
        self = switch dtype {
        case .float32: .float32
        case .int8: .int8
        case .uint8: .uint8
        case .int32: .int32
        }
    }

    /// Bytes per element.
    var byteCount: Int {
        switch self {
        case .float32, .int32: 4
        case .float64, .int64: 8
        case .float16, .bfloat16: 2
        case .int8, .uint8: 1
        }
    }

    /// The PyTorch storage class that pickles name for this type, e.g. `FloatStorage`.
    var torchStorageName: String {
        switch self {
        case .float32: "FloatStorage"
        case .float64: "DoubleStorage"
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        case .int64: "LongStorage"
        case .int32: "IntStorage"
        case .int8: "CharStorage"
        case .uint8: "ByteStorage"
        }
    }

    /// The safetensors `dtype` code, e.g. `F32`.
    var safetensorsCode: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .int64: "I64"
        case .int32: "I32"
        case .int8: "I8"
        case .uint8: "U8"
        }
    }

    /// The type of a PyTorch storage class, among those ``convertedToFloat``.
    init?(torchStorage name: String) {
        guard let type = Self.convertedToFloat.first(where: { $0.torchStorageName == name }) else { return nil }
        self = type
    }

    init?(safetensorsCode code: String) {
        guard let type = Self.allCases.first(where: { $0.safetensorsCode == code }) else { return nil }
        self = type
    }

    /// Converts `count` elements stored at `source` (any alignment) into floats at `destination`.
    ///
    /// - Parameter littleEndian: the byte order of the stored elements (PyTorch records it; the
    ///   safetensors format is always little-endian).
    func convert(
        _ source: UnsafeRawPointer, count: Int, littleEndian: Bool, into destination: UnsafeMutablePointer<Float>
    ) {
        func word<Word: FixedWidthInteger>(_ index: Int, as _: Word.Type) -> Word {
            let raw = source.loadUnaligned(fromByteOffset: index * MemoryLayout<Word>.size, as: Word.self)
            return littleEndian ? Word(littleEndian: raw) : Word(bigEndian: raw)
        }
        switch self {
        case .float32:
            // Already in the machine's byte order: one copy, as fast as memory allows.
            let nativeOrder = littleEndian == (1.littleEndian == 1)
            if nativeOrder {
                UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
            } else {
                for index in 0..<count { destination[index] = Float(bitPattern: word(index, as: UInt32.self)) }
            }
        case .float64:
            for index in 0..<count { destination[index] = Float(Double(bitPattern: word(index, as: UInt64.self))) }
        case .float16:
            for index in 0..<count { destination[index] = Self.float(half: word(index, as: UInt16.self)) }
        case .bfloat16:
            // bfloat16 is the upper half of a float32, so widening is a shift.
            for index in 0..<count { destination[index] = Float(bitPattern: UInt32(word(index, as: UInt16.self)) << 16) }
        case .int64:
            for index in 0..<count { destination[index] = Float(Int64(bitPattern: word(index, as: UInt64.self))) }
        case .int32:
            for index in 0..<count { destination[index] = Float(Int32(bitPattern: word(index, as: UInt32.self))) }
        case .int8:
            for index in 0..<count { destination[index] = Float(source.load(fromByteOffset: index, as: Int8.self)) }
        case .uint8:
            for index in 0..<count { destination[index] = Float(source.load(fromByteOffset: index, as: UInt8.self)) }
        }
    }

    /// Widens IEEE 754 binary16 bits to a float by hand: Swift's `Float16` type is missing on
    /// Intel Macs, and this is exact for every value, subnormals, infinities and NaNs included.
    static func float(half bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2^-24, exactly representable as a float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            // Rebias the exponent from 15 to 127 and widen the mantissa from 10 to 23 bits.
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }
}
