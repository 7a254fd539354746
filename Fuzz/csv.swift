import Foundation

// libFuzzer target: the CSV reader of `cotflow stages` (CSVData.parse). Built by scripts/fuzz.sh.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    if let data = try? CSVData.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz.csv") {
        precondition(data.rows.allSatisfy { $0.count == data.header.count }, "ragged rows accepted")
    }
    return 0
}
