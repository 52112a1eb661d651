/// The EXIF orientation tag (TIFF tag 0x0112): how a camera's stored pixels must be turned to
/// appear upright.
///
/// Each case is named after the transformation that makes the picture upright, the same one
/// Pillow's `ImageOps.exif_transpose` applies for that tag value.
public enum ExifOrientation: Int, Hashable, Sendable, CaseIterable {
    /// 1: stored upright.
    case upright = 1
    /// 2: mirror left to right (Pillow's `FLIP_LEFT_RIGHT`).
    case flipHorizontal = 2
    /// 3: turn half a circle (`ROTATE_180`).
    case rotate180 = 3
    /// 4: mirror top to bottom (`FLIP_TOP_BOTTOM`).
    case flipVertical = 4
    /// 5: swap rows and columns (`TRANSPOSE`).
    case transpose = 5
    /// 6: turn a quarter clockwise (`ROTATE_270`, which Pillow measures counter-clockwise).
    case rotate90Clockwise = 6
    /// 7: swap rows and columns across the other diagonal (`TRANSVERSE`).
    case transverse = 7
    /// 8: turn a quarter counter-clockwise (`ROTATE_90`).
    case rotate90CounterClockwise = 8

    /// Whether the upright picture's width is the stored picture's height.
    public var swapsSides: Bool { rawValue >= 5 }

    static let tag: UInt16 = 0x0112

    /// Reads the orientation from a TIFF structure (the EXIF payload after `Exif\0\0`): byte
    /// order mark, magic 42, offset of IFD0, then IFD0's entries.
    ///
    /// Every read is bounds-checked; anything malformed, absent or out of range gives `nil`,
    /// because a bad orientation tag should never make a readable picture unreadable.
    public init?(tiff bytes: some Collection<UInt8>) {
        let tiff = Array(bytes)
        guard tiff.count >= 8 else { return nil }
        let bigEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): bigEndian = false  // "II", Intel
        case (0x4D, 0x4D): bigEndian = true  // "MM", Motorola
        default: return nil
        }

        func unsigned16(at offset: Int) -> Int? {
            guard offset >= 0, offset + 2 <= tiff.count else { return nil }
            let (first, second) = (Int(tiff[offset]), Int(tiff[offset + 1]))
            return bigEndian ? first << 8 | second : second << 8 | first
        }
        func unsigned32(at offset: Int) -> Int? {
            guard let high = unsigned16(at: bigEndian ? offset : offset + 2),
                let low = unsigned16(at: bigEndian ? offset + 2 : offset)
            else { return nil }
            return high << 16 | low
        }

        guard unsigned16(at: 2) == 42, let directory = unsigned32(at: 4),
            let entryCount = unsigned16(at: directory)
        else { return nil }
        for index in 0..<entryCount {
            let entry = directory + 2 + index * 12
            guard let tag = unsigned16(at: entry) else { return nil }
            guard tag == Int(Self.tag) else { continue }
            // The value sits in the entry itself: a SHORT in the first two bytes of the 4-byte
            // field (type 3), or a LONG filling it (type 4, written by a few tools).
            let value: Int?
            switch unsigned16(at: entry + 2) {
            case 3: value = unsigned16(at: entry + 8)
            case 4: value = unsigned32(at: entry + 8)
            default: value = nil
            }
            guard let value else { return nil }
            self.init(rawValue: value)
            return
        }
        return nil
    }
}
