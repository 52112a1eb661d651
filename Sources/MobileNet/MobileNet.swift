// The one module users import: `import MobileNet` brings in tensors and engines, layers and the
// model zoo.
@_exported import MobileNetModels
@_exported import MobileNetNN
@_exported import MobileNetTensor
