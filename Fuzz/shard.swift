import Foundation

// libFuzzer target: the sweep shard JSON reader of `cotflow merge` and `sweep --resume`
// (JSONReader.parse, SweepDescription.decode, decodeRecords).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShard(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    guard let json = try? JSONReader.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz.json") else { return 0 }
    if let description = try? SweepDescription.decode(json, file: "fuzz.json") {
        _ = try? description.decodeRecords(json, file: "fuzz.json")
    }
    return 0
}
