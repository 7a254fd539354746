import Foundation

// libFuzzer target: the parameter JSON reader of `cotflow eval --load` (TransformerParameters.decode).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParameters(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    if let p = try? TransformerParameters.decode(data, path: "fuzz.json") {
        precondition(p.isFinite && p.V.count == p.tokenSize * p.tokenSize, "accepted parameters that are not finite or not D x D")
    }
    return 0
}
