#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace perfcast {

// One data row of a CSV file, addressed by column name. Every accessor that fails throws
// perfcast::Error naming the file, the line and the column, so a broken data file is easy to fix.
class CsvRow {
 public:
  CsvRow(std::shared_ptr<const std::map<std::string, size_t>> columns, std::vector<std::string> values,
         std::shared_ptr<const std::string> origin, int line);

  bool has(const std::string& column) const;
  // The raw text of a column (may be empty).
  const std::string& at(const std::string& column) const;
  // The text of a column, which must not be empty.
  const std::string& required(const std::string& column) const;
  // A number; an empty cell or text that is not a number is an error.
  double number(const std::string& column) const;
  // A number, or nullopt for an empty cell; text that is not a number is an error.
  std::optional<double> optional_number(const std::string& column) const;
  // A whole number; "8" is accepted, "8.5" is not.
  long long integer(const std::string& column) const;

  int line() const { return line_; }  // 1-based line of the file where the row starts
  const std::string& origin() const { return *origin_; }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::shared_ptr<const std::map<std::string, size_t>> columns_;
  std::vector<std::string> values_;
  std::shared_ptr<const std::string> origin_;
  int line_ = 0;
};

struct CsvTable {
  std::string origin;                 // the file (or label) the text came from
  std::vector<std::string> columns;   // the header row
  std::vector<CsvRow> rows;

  // Throws perfcast::Error naming the file and every missing column.
  void require_columns(const std::vector<std::string>& names) const;
};

// RFC 4180 CSV: one header row, fields separated by ',', fields may be quoted with '"' (a doubled
// '""' inside quotes is one quote; quoted fields may hold commas and line breaks), LF or CRLF line
// ends, an optional UTF-8 byte-order mark. Blank lines are skipped. A row with a different number
// of fields than the header, or an unterminated quote, is an error naming the line.
CsvTable parse_csv(const std::string& text, const std::string& origin);
CsvTable read_csv(const std::string& path);

}  // namespace perfcast
