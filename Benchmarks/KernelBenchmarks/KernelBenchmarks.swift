import Benchmark
import MobileNet

// One fused convolution (with its ReLU6 post-op, as in the model) at each of MobileNetV2's
// depthwise and pointwise layer shapes, batch 1, and the whole model. Each runs through an
// `InferenceSession`, the path `mobilenet bench` and `classify` use, so a regression in a
// kernel choice, a layout or a post-op shows here.

/// A depthwise (`groups == channels`) or pointwise convolution layer as a one-step graph.
private struct Layer {
    var name: String
    var size: Int
    var inputChannels: Int
    var outputChannels: Int
    var kernel: Int
    var stride: Int

    var isDepthwise: Bool { kernel > 1 }

    /// Multiply-adds of one run.
    var multiplyAdds: Int {
        let output = (size + stride - 1) / stride
        return output * output * outputChannels * (isDepthwise ? 1 : inputChannels) * kernel * kernel
    }

    func session() -> (InferenceSession, Tensor) {
        var generator = SplitMix64(seed: 1)
        var graph = InferenceGraph()
        let input = graph.input(channels: inputChannels)
        let weight = Tensor.uniform(
            [outputChannels, isDepthwise ? 1 : inputChannels, kernel, kernel], in: -0.1...0.1, using: &generator)
        _ = graph.convolution(
            input, weight: weight, bias: .zeros([outputChannels]),
            geometry: ConvolutionGeometry(stride: stride, padding: kernel / 2, groups: isDepthwise ? inputChannels : 1),
            post: [.activation(.relu6)])
        return (InferenceSession(graph: graph), Tensor.uniform([1, size, size, inputChannels], in: -1...1, using: &generator))
    }
}

private let layers: [Layer] = [
    .init(name: "dw3x3 s1 112x112x32", size: 112, inputChannels: 32, outputChannels: 32, kernel: 3, stride: 1),
    .init(name: "dw3x3 s2 112x112x96", size: 112, inputChannels: 96, outputChannels: 96, kernel: 3, stride: 2),
    .init(name: "dw3x3 s1 56x56x144", size: 56, inputChannels: 144, outputChannels: 144, kernel: 3, stride: 1),
    .init(name: "dw3x3 s2 56x56x144", size: 56, inputChannels: 144, outputChannels: 144, kernel: 3, stride: 2),
    .init(name: "dw3x3 s1 28x28x192", size: 28, inputChannels: 192, outputChannels: 192, kernel: 3, stride: 1),
    .init(name: "dw3x3 s1 14x14x576", size: 14, inputChannels: 576, outputChannels: 576, kernel: 3, stride: 1),
    .init(name: "dw3x3 s1 7x7x960", size: 7, inputChannels: 960, outputChannels: 960, kernel: 3, stride: 1),
    .init(name: "1x1 112x112 16→96", size: 112, inputChannels: 16, outputChannels: 96, kernel: 1, stride: 1),
    .init(name: "1x1 56x56 24→144", size: 56, inputChannels: 24, outputChannels: 144, kernel: 1, stride: 1),
    .init(name: "1x1 56x56 144→24", size: 56, inputChannels: 144, outputChannels: 24, kernel: 1, stride: 1),
    .init(name: "1x1 28x28 192→32", size: 28, inputChannels: 192, outputChannels: 32, kernel: 1, stride: 1),
    .init(name: "1x1 14x14 384→64", size: 14, inputChannels: 384, outputChannels: 64, kernel: 1, stride: 1),
    .init(name: "1x1 14x14 576→96", size: 14, inputChannels: 576, outputChannels: 96, kernel: 1, stride: 1),
    .init(name: "1x1 7x7 960→160", size: 7, inputChannels: 960, outputChannels: 160, kernel: 1, stride: 1),
    .init(name: "1x1 7x7 320→1280", size: 7, inputChannels: 320, outputChannels: 1280, kernel: 1, stride: 1),
]

let benchmarks: @Sendable () -> Void = {
    CPUEngine.threadCount = 1
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 20,
        maxDuration: .seconds(2),
        maxIterations: 2000)

    for layer in layers {
        let (session, input) = layer.session()
        Benchmark("\(layer.name) (\(layer.multiplyAdds / 1000) k MACs)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try session.run(input))
            }
        }
    }

    for architecture in Architecture.allCases {
        let model = try! makeModel(ModelConfiguration(architecture), seed: 1)
        let fast = try! InferenceModel(model)
        var generator = SplitMix64(seed: 2)
        let image = Tensor.uniform([1, 224, 224, 3], in: -2...2, using: &generator)
        Benchmark("MobileNet \(architecture) 224 batch 1") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try fast(image))
            }
        }
    }
}
