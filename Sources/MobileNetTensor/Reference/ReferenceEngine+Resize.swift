// Bilinear resizing by its definition: each output element the weighted sum of its four
// source elements, in Double.

extension ReferenceEngine {
    public func resizeBilinear(_ input: Tensor, height: Int, width: Int) throws -> Tensor {
        let (inputHeight, inputWidth, channels) = (input.shape[1], input.shape[2], input.shape[3])
        let rows = BilinearTap.taps(input: inputHeight, output: height)
        let columns = BilinearTap.taps(input: inputWidth, output: width)
        return Tensor(shape: [input.shape[0], height, width, channels]) { index in
            let k = index % channels, column = index / channels % width, row = index / (channels * width) % height
            let n = index / (channels * width * height)
            func pixel(_ y: Int, _ x: Int) -> Double {
                Double(input.storage.pointer[((n * inputHeight + y) * inputWidth + x) * channels + k])
            }
            let r = rows[row], c = columns[column]
            let (h1, w1) = (Double(r.fraction), Double(c.fraction))
            let upper = (1 - w1) * pixel(r.first, c.first) + w1 * pixel(r.first, c.second)
            let lower = (1 - w1) * pixel(r.second, c.first) + w1 * pixel(r.second, c.second)
            return Float((1 - h1) * upper + h1 * lower)
        }
    }

    public func resizeBilinearBackward(_ outputGradient: Tensor, inputShape: Shape) throws -> Tensor {
        // The adjoint, gathered: each input element sums the output gradients whose taps name it.
        let (inputHeight, inputWidth, channels) = (inputShape[1], inputShape[2], inputShape[3])
        let (height, width) = (outputGradient.shape[1], outputGradient.shape[2])
        let rows = BilinearTap.taps(input: inputHeight, output: height)
        let columns = BilinearTap.taps(input: inputWidth, output: width)
        func weight(_ taps: [BilinearTap], _ output: Int, onto input: Int) -> Double {
            let tap = taps[output]
            return (tap.first == input ? 1 - Double(tap.fraction) : 0) + (tap.second == input ? Double(tap.fraction) : 0)
        }
        return Tensor(shape: inputShape) { index in
            let k = index % channels, x = index / channels % inputWidth, y = index / (channels * inputWidth) % inputHeight
            let n = index / (channels * inputWidth * inputHeight)
            var sum = 0.0
            for row in 0..<height {
                let h = weight(rows, row, onto: y)
                if h == 0 { continue }
                for column in 0..<width {
                    let w = weight(columns, column, onto: x)
                    if w == 0 { continue }
                    sum += h * w * Double(outputGradient.storage.pointer[((n * height + row) * width + column) * channels + k])
                }
            }
            return Float(sum)
        }
    }
}
