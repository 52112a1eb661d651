/// The mean of `values` as `np.mean` computes it for a contiguous float64 array, to the last
/// bit: numpy's pairwise summation (blocks of up to 128 summed in 8 interleaved partial sums,
/// larger arrays split in halves at multiples of 8), started from the identity 0, over the count.
func numpyMean(_ values: [Double]) -> Double {
    values.withUnsafeBufferPointer { 0 + numpyPairwiseSum($0) } / Double(values.count)
}

private func numpyPairwiseSum(_ values: UnsafeBufferPointer<Double>) -> Double {
    let count = values.count
    if count < 8 {
        var sum = 0.0
        for value in values { sum += value }
        return sum
    }
    if count <= 128 {
        var partial = Array(values[0..<8])
        var index = 8
        while index < count - count % 8 {
            for lane in 0..<8 { partial[lane] += values[index + lane] }
            index += 8
        }
        var sum = ((partial[0] + partial[1]) + (partial[2] + partial[3]))
            + ((partial[4] + partial[5]) + (partial[6] + partial[7]))
        while index < count {
            sum += values[index]
            index += 1
        }
        return sum
    }
    var half = count / 2
    half -= half % 8
    return numpyPairwiseSum(UnsafeBufferPointer(rebasing: values[0..<half]))
        + numpyPairwiseSum(UnsafeBufferPointer(rebasing: values[half...]))
}
