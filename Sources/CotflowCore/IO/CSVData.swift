import Foundation

/// A CSV file with a header row, its numeric columns as numbers.
///
/// Cells are parsed with `Double(_:)` after trimming spaces (so `nan` and `inf`, which `CSVTable`
/// writes for non-finite values, are read back as numbers); an empty cell is NaN (pandas writes
/// missing values so). Cells may be quoted (RFC 4180, commas inside quotes). A column with a
/// non-numeric cell is a text column: it is kept out of `column(_:)` but does not stop the file
/// from loading. An empty first header cell, as pandas' default `to_csv` writes for its index, names
/// the index column `index` (or `Unnamed: 0`, pandas' own name, if `index` is taken).
public struct CSVData: Sendable {
    public let header: [String]
    /// The data rows, each with one value per header column (NaN in text columns).
    public let rows: [[Double]]
    /// Where the data came from (a path or a label), used in error messages.
    public let source: String
    /// Columns with at least one non-numeric cell, each with where its first such cell is.
    public var textCells: [String: String] = [:]
    public var textColumns: Set<String> { Set(textCells.keys) }

    /// Reads and parses the file at `path`.
    public static func load(path: String) throws -> CSVData {
        try parse(try InputFile(path).text(what: "CSV file"), source: path)
    }

    /// Parses CSV text; `source` names it in error messages. Lines end with "\n", "\r\n" or "\r";
    /// blank lines are skipped (line numbers in messages are those of the file).
    public static func parse(_ text: String, source: String) throws -> CSVData {
        // A UTF-8 byte order mark (Excel writes one) is not part of the first column's name.
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
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
        /// The cells of a line, split at commas outside double quotes, with surrounding spaces and
        /// tabs removed (a quoted cell keeps its quotes here; `unquote` removes them).
        func cells(_ range: Range<Int>) -> [String] {
            var pieces: [Range<Int>] = [], start = range.lowerBound, quoted = false
            for j in range {
                if bytes[j] == 0x22 { quoted.toggle() } else if bytes[j] == 0x2C, !quoted { pieces.append(start..<j); start = j + 1 }
            }
            pieces.append(start..<range.upperBound)
            return pieces.map { cell in
                var lo = cell.lowerBound, hi = cell.upperBound
                while lo < hi, bytes[lo] == 0x20 || bytes[lo] == 0x09 { lo += 1 }
                while hi > lo, bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 { hi -= 1 }
                return String(decoding: bytes[lo..<hi], as: UTF8.self)
            }
        }
        guard let first = lines.first else { throw CotflowError.input("\(source): empty file (expected a header row and numeric rows)") }
        var header = cells(first.range).map(unquote)
        if header.count > 1, header[0].isEmpty { header[0] = header.contains("index") ? "Unnamed: 0" : "index" }
        guard !header.contains(where: \.isEmpty) else {
            throw CotflowError.input("\(source): line \(first.number): empty column name in the header")
        }
        // Names are printed in messages and reports: a control character (an escape sequence) is refused, shown escaped.
        if let name = header.first(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            throw CotflowError.input("\(source): line \(first.number): the column name '\(visible(name))' holds a control character")
        }
        var seen = Set<String>()
        for name in header where !seen.insert(name).inserted {
            throw CotflowError.input("\(source): column '\(name)' appears twice in the header")
        }
        var rows: [[Double]] = []
        var text: [String: String] = [:]
        rows.reserveCapacity(lines.count - 1)
        for (number, range) in lines.dropFirst() {
            let row = cells(range)
            guard row.count == header.count else {
                throw CotflowError.input("\(source): line \(number) has \(row.count) cells but the header has \(header.count) columns")
            }
            var values: [Double] = []
            values.reserveCapacity(row.count)
            for (column, cell) in row.enumerated() {
                if let value = Double(cell.hasPrefix("\"") ? unquote(cell) : cell) {
                    values.append(value)
                } else if cell.isEmpty {
                    values.append(.nan)
                } else {
                    if text[header[column]] == nil { text[header[column]] = "'\(visible(cell))' on line \(number)" }
                    values.append(.nan)
                }
            }
            rows.append(values)
        }
        guard !rows.isEmpty else { throw CotflowError.input("\(source): no data rows after the header") }
        return CSVData(header: header, rows: rows, source: source, textCells: text)
    }

    /// The values of one numeric column; the error names the available numeric columns.
    public func column(_ name: String) throws -> [Double] {
        guard let index = header.firstIndex(of: name) else {
            throw CotflowError.input("\(source): no column '\(name)' (numeric columns: \(numericColumns.joined(separator: ", ")))")
        }
        if let cell = textCells[name] {
            throw CotflowError.input("\(source): column '\(name)' holds text, not numbers (\(cell)); numeric columns: \(numericColumns.joined(separator: ", "))")
        }
        return rows.map { $0[index] }
    }

    /// The columns whose every cell is a number (or empty).
    public var numericColumns: [String] { header.filter { !textColumns.contains($0) } }

    public func hasColumn(_ name: String) -> Bool { header.contains(name) }

    /// Rows of the columns prefix_1, prefix_2, ... (e.g. "v_diag_" -> [[v_diag_1, ..., v_diag_d] per row]); empty if none.
    /// The columns are taken in numeric order up to the first missing index.
    public func rows(prefix: String) -> [[Double]] {
        var indices: [Int] = []
        while let index = header.firstIndex(of: "\(prefix)\(indices.count + 1)"), !textColumns.contains(header[index]) { indices.append(index) }
        guard !indices.isEmpty else { return [] }
        return rows.map { row in indices.map { row[$0] } }
    }

    /// `text` with every control character (an escape sequence's ESC, C1 codes) written as \u{XX},
    /// so that a file's text never reaches the terminal raw.
    static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func unquote(_ cell: String) -> String {
        let t = cell.trimmingCharacters(in: .whitespaces)
        if t.count >= 2, t.hasPrefix("\""), t.hasSuffix("\"") {
            return String(t.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        return t
    }
}
