/// Rounds a scaled channel count to a multiple of `divisor`, never dropping more than 10 % below
/// `value`: torchvision's `_make_divisible` and timm's `make_divisible`, from the TensorFlow
/// MobileNet code. This is the only copy; every width multiplier goes through it.
///
/// `int(v + divisor / 2)` in Python truncates toward zero, as `Int(_:)` does for positive values.
public func makeDivisible(_ value: Double, divisor: Int = 8, minimum: Int? = nil) -> Int {
    let floor = minimum ?? divisor
    var rounded = max(floor, Int(value + Double(divisor) / 2) / divisor * divisor)
    if Double(rounded) < 0.9 * value {
        rounded += divisor
    }
    return rounded
}
