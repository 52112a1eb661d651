// Bilinear resizing, separably: the taps of rows and columns computed once per call, then each
// output pixel blends four input pixels channel by channel (contiguous in NHWC).

extension CPUEngine {
    public func resizeBilinear(_ input: Tensor, height: Int, width: Int) throws -> Tensor {
        let (batch, inputHeight, inputWidth, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let rows = BilinearTap.taps(input: inputHeight, output: height)
        let columns = BilinearTap.taps(input: inputWidth, output: width)
        var output = Tensor(uninitializedShape: [batch, height, width, channels])
        let x = input.storage.pointer
        output.withUnsafeMutableBufferPointer { y in
            for n in 0..<batch {
                let image = x + n * inputHeight * inputWidth * channels
                for (row, r) in rows.enumerated() {
                    let top = image + r.first * inputWidth * channels, bottom = image + r.second * inputWidth * channels
                    let (h0, h1) = (1 - r.fraction, r.fraction)
                    for (column, c) in columns.enumerated() {
                        let (w0, w1) = (1 - c.fraction, c.fraction)
                        let (left, right) = (c.first * channels, c.second * channels)
                        let target = ((n * height + row) * width + column) * channels
                        for k in 0..<channels {
                            let upper = w0 * top[left + k] + w1 * top[right + k]
                            let lower = w0 * bottom[left + k] + w1 * bottom[right + k]
                            y[target + k] = upper * h0 + lower * h1
                        }
                    }
                }
            }
        }
        return output
    }

    public func resizeBilinearBackward(_ outputGradient: Tensor, inputShape: Shape) throws -> Tensor {
        let (batch, inputHeight, inputWidth, channels) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (height, width) = (outputGradient.shape[1], outputGradient.shape[2])
        let rows = BilinearTap.taps(input: inputHeight, output: height)
        let columns = BilinearTap.taps(input: inputWidth, output: width)
        var inputGradient = Tensor(repeating: 0, shape: inputShape)
        let g = outputGradient.storage.pointer
        inputGradient.withUnsafeMutableBufferPointer { dx in
            for n in 0..<batch {
                let image = dx.baseAddress! + n * inputHeight * inputWidth * channels
                for (row, r) in rows.enumerated() {
                    let top = image + r.first * inputWidth * channels, bottom = image + r.second * inputWidth * channels
                    let (h0, h1) = (1 - r.fraction, r.fraction)
                    for (column, c) in columns.enumerated() {
                        let source = g + ((n * height + row) * width + column) * channels
                        let (left, right) = (c.first * channels, c.second * channels)
                        // The four corners' weights, as the forward pass blends them; a zero
                        // weight adds nothing.
                        let (w00, w01, w10, w11) = (h0 * (1 - c.fraction), h0 * c.fraction, h1 * (1 - c.fraction), h1 * c.fraction)
                        for k in 0..<channels {
                            let value = source[k]
                            top[left + k] += w00 * value
                            top[right + k] += w01 * value
                            bottom[left + k] += w10 * value
                            bottom[right + k] += w11 * value
                        }
                    }
                }
            }
        }
        return inputGradient
    }
}
