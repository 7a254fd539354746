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
            throw CotflowError("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw CotflowError("\(path) is a directory, not a CSV file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CotflowError("cannot read \(path)") }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// Parses CSV text; `source` names it in error messages.
    public static func parse(_ text: String, source: String) throws -> CSVData {
        // "\r\n" is one Character in Swift and counts as a newline, like "\n" and "\r".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        // Blank lines (typically the trailing newline) are skipped; line numbers stay those of the file.
        let numbered = lines.enumerated().filter { !$0.element.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let first = numbered.first else { throw CotflowError("\(source): empty file (expected a header row and numeric rows)") }
        let header = splitCells(first.element).map(unquote)
        guard !header.contains(where: \.isEmpty) else {
            throw CotflowError("\(source): line \(first.offset + 1): empty column name in the header")
        }
        var seen = Set<String>()
        for name in header where !seen.insert(name).inserted {
            throw CotflowError("\(source): column '\(name)' appears twice in the header")
        }
        var rows: [[Double]] = []
        for (offset, line) in numbered.dropFirst() {
            let cells = splitCells(line)
            guard cells.count == header.count else {
                throw CotflowError("\(source): line \(offset + 1) has \(cells.count) cells but the header has \(header.count) columns")
            }
            var row: [Double] = []
            row.reserveCapacity(cells.count)
            for (column, cell) in cells.enumerated() {
                let trimmed = cell.trimmingCharacters(in: .whitespaces)
                guard let value = Double(trimmed) else {
                    throw CotflowError("\(source): line \(offset + 1), column '\(header[column])': '\(trimmed)' is not a number")
                }
                row.append(value)
            }
            rows.append(row)
        }
        guard !rows.isEmpty else { throw CotflowError("\(source): no data rows after the header") }
        return CSVData(header: header, rows: rows, source: source)
    }

    /// The values of one column; the error names the available columns.
    public func column(_ name: String) throws -> [Double] {
        guard let index = header.firstIndex(of: name) else {
            throw CotflowError("\(source): no column '\(name)' (columns: \(header.joined(separator: ", ")))")
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

    private static func splitCells(_ line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    private static func unquote(_ cell: String) -> String {
        let t = cell.trimmingCharacters(in: .whitespaces)
        if t.count >= 2, t.hasPrefix("\""), t.hasSuffix("\"") {
            return String(t.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        return t
    }
}
