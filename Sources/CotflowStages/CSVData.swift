import CotflowSupport
import Foundation

/// A numeric CSV file with a header row.
///
/// Cells are parsed with `Double(_:)` after trimming spaces (so `nan` and `inf`, which `CSVTable`
/// writes for non-finite values, are read back as numbers); a header cell may be quoted.
public struct CSVData: Sendable {
    public let header: [String]
    /// The data rows, each with one value per header column.
    public let rows: [[Double]]
    /// Where the data came from (a path or a label), used in error messages.
    public let source: String

    /// Reads and parses the file at `path`.
    public static func load(path: String) throws -> CSVData {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CotflowError.input("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw CotflowError.input("\(path) is a directory, not a CSV file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CotflowError.input("cannot read \(path)") }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// Parses CSV text; `source` names it in error messages. Lines end with "\n", "\r\n" or "\r";
    /// blank lines are skipped (line numbers in messages are those of the file).
    public static func parse(_ text: String, source: String) throws -> CSVData {
        let bytes = Array(text.utf8)
        var lines: [(number: Int, range: Range<Int>)] = []
        var number = 1, start = 0, i = 0
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == 0x0A || bytes[i] == 0x0D {
                let range = start..<i
                if !bytes[range].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { lines.append((number, range)) }
                if i < bytes.count, bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
                number += 1
                start = i + 1
            }
            i += 1
        }
        /// The cells of a line, with surrounding spaces and tabs removed.
        func cells(_ range: Range<Int>) -> [String] {
            bytes[range].split(separator: 0x2C, omittingEmptySubsequences: false).map { cell in
                var lo = cell.startIndex, hi = cell.endIndex
                while lo < hi, bytes[lo] == 0x20 || bytes[lo] == 0x09 { lo += 1 }
                while hi > lo, bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 { hi -= 1 }
                return String(decoding: bytes[lo..<hi], as: UTF8.self)
            }
        }
        guard let first = lines.first else { throw CotflowError.input("\(source): empty file (expected a header row and numeric rows)") }
        let header = cells(first.range).map(unquote)
        guard !header.contains(where: \.isEmpty) else {
            throw CotflowError.input("\(source): line \(first.number): empty column name in the header")
        }
        var seen = Set<String>()
        for name in header where !seen.insert(name).inserted {
            throw CotflowError.input("\(source): column '\(name)' appears twice in the header")
        }
        var rows: [[Double]] = []
        rows.reserveCapacity(lines.count - 1)
        for (number, range) in lines.dropFirst() {
            let row = cells(range)
            guard row.count == header.count else {
                throw CotflowError.input("\(source): line \(number) has \(row.count) cells but the header has \(header.count) columns")
            }
            var values: [Double] = []
            values.reserveCapacity(row.count)
            for (column, cell) in row.enumerated() {
                guard let value = Double(cell) else {
                    throw CotflowError.input("\(source): line \(number), column '\(header[column])': '\(cell)' is not a number")
                }
                values.append(value)
            }
            rows.append(values)
        }
        guard !rows.isEmpty else { throw CotflowError.input("\(source): no data rows after the header") }
        return CSVData(header: header, rows: rows, source: source)
    }

    /// The values of one column; the error names the available columns.
    public func column(_ name: String) throws -> [Double] {
        guard let index = header.firstIndex(of: name) else {
            throw CotflowError.input("\(source): no column '\(name)' (columns: \(header.joined(separator: ", ")))")
        }
        return rows.map { $0[index] }
    }

    public func hasColumn(_ name: String) -> Bool { header.contains(name) }

    /// Rows of the columns prefix_1, prefix_2, ... (e.g. "v_diag_" -> [[v_diag_1, ..., v_diag_d] per row]); empty if none.
    /// The columns are taken in numeric order up to the first missing index.
    public func rows(prefix: String) -> [[Double]] {
        var indices: [Int] = []
        while let index = header.firstIndex(of: "\(prefix)\(indices.count + 1)") { indices.append(index) }
        guard !indices.isEmpty else { return [] }
        return rows.map { row in indices.map { row[$0] } }
    }

    private static func unquote(_ cell: String) -> String {
        let t = cell.trimmingCharacters(in: .whitespaces)
        if t.count >= 2, t.hasPrefix("\""), t.hasSuffix("\"") {
            return String(t.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        return t
    }
}
