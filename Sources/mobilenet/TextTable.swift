/// Rows of cells padded into columns two spaces apart, the first row a header underlined with
/// dashes: the tables `info` and `bench --profile` print.
enum TextTable {
    /// `rows[0]` is the header; columns for which `rightAligned` is true are padded on the left.
    static func lines(_ rows: [[String]], rightAligned: (Int) -> Bool) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let formatted = rows.map { row in
            row.indices.map { column -> String in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return rightAligned(column) ? padding + row[column] : row[column] + padding
            }.joined(separator: "  ")
        }
        return [formatted[0], String(repeating: "-", count: formatted[0].count)] + formatted.dropFirst()
    }
}
