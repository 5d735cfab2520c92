#include "common/csv.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace perfcast {

CsvRow::CsvRow(std::shared_ptr<const std::map<std::string, size_t>> columns, std::vector<std::string> values,
               std::shared_ptr<const std::string> origin, int line)
    : columns_(std::move(columns)), values_(std::move(values)), origin_(std::move(origin)), line_(line) {}

bool CsvRow::has(const std::string& column) const { return columns_->count(column) > 0; }

const std::string& CsvRow::at(const std::string& column) const {
  const auto it = columns_->find(column);
  if (it == columns_->end()) {
    throw Error(fmt::format("{}: there is no column '{}' (needed on line {})", *origin_, column, line_));
  }
  return values_[it->second];
}

const std::string& CsvRow::required(const std::string& column) const {
  const std::string& text = at(column);
  if (text.empty()) throw Error(fmt::format("{}:{}: column '{}' is empty", *origin_, line_, column));
  return text;
}

std::optional<double> CsvRow::optional_number(const std::string& column) const {
  const std::string& text = at(column);
  if (text.empty()) return std::nullopt;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(begin, &end);
  while (end && (*end == ' ' || *end == '\t')) ++end;
  if (end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(value)) {
    throw Error(fmt::format("{}:{}: column '{}' should be a number, got '{}'", *origin_, line_, column, text));
  }
  return value;
}

double CsvRow::number(const std::string& column) const {
  const auto value = optional_number(column);
  if (!value) throw Error(fmt::format("{}:{}: column '{}' is empty; a number is needed", *origin_, line_, column));
  return *value;
}

long long CsvRow::integer(const std::string& column) const {
  const double value = number(column);
  if (value != std::floor(value) || std::fabs(value) > 9e15) {
    throw Error(fmt::format("{}:{}: column '{}' should be a whole number, got '{}'", *origin_, line_, column,
                            at(column)));
  }
  return static_cast<long long>(value);
}

void CsvTable::require_columns(const std::vector<std::string>& names) const {
  std::string missing;
  for (const auto& name : names) {
    bool found = false;
    for (const auto& c : columns) found = found || c == name;
    if (!found) missing += (missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty()) {
    throw Error(fmt::format("{}: missing column(s) {} in the header row (it has: {})", origin, missing,
                            fmt::join(columns, ", ")));
  }
}

CsvTable parse_csv(const std::string& text, const std::string& origin) {
  CsvTable table;
  table.origin = origin;
  auto origin_ptr = std::make_shared<const std::string>(origin);

  size_t pos = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;
  int line = 1;
  std::vector<std::vector<std::string>> records;
  std::vector<int> record_lines;

  while (pos < text.size()) {
    const int start_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool quoted_field = false;
    bool end_of_record = false;
    while (!end_of_record) {
      if (pos >= text.size()) {
        fields.push_back(std::move(field));
        break;
      }
      const char ch = text[pos];
      if (ch == '"' && field.empty() && !quoted_field) {
        // Quoted field: read up to the closing quote.
        quoted_field = true;
        ++pos;
        bool closed = false;
        while (pos < text.size()) {
          const char q = text[pos];
          if (q == '"') {
            if (pos + 1 < text.size() && text[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            closed = true;
            break;
          }
          if (q == '\n') ++line;
          field += q;
          ++pos;
        }
        if (!closed) {
          throw Error(fmt::format("{}:{}: a quoted field is never closed (missing '\"')", origin, start_line));
        }
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          throw Error(fmt::format("{}:{}: unexpected text after a closing quote; quote the whole field", origin,
                                  line));
        }
        continue;
      }
      if (ch == ',') {
        fields.push_back(std::move(field));
        field.clear();
        quoted_field = false;
        ++pos;
      } else if (ch == '\r' || ch == '\n') {
        if (ch == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
        ++pos;
        ++line;
        fields.push_back(std::move(field));
        end_of_record = true;
      } else {
        field += ch;
        ++pos;
      }
    }
    const bool blank = fields.size() == 1 && fields[0].empty() && !quoted_field;
    if (!blank) {
      records.push_back(std::move(fields));
      record_lines.push_back(start_line);
    }
  }

  if (records.empty()) throw Error(fmt::format("{}: the file is empty; a header row is needed", origin));
  table.columns = records.front();
  auto columns = std::make_shared<std::map<std::string, size_t>>();
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (table.columns[i].empty()) throw Error(fmt::format("{}:1: column {} has an empty name", origin, i + 1));
    if (!columns->emplace(table.columns[i], i).second) {
      throw Error(fmt::format("{}:1: column '{}' appears twice in the header", origin, table.columns[i]));
    }
  }
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table.columns.size()) {
      throw Error(fmt::format("{}:{}: {} field(s) where the header has {}; quote fields that contain commas",
                              origin, record_lines[r], records[r].size(), table.columns.size()));
    }
    table.rows.emplace_back(columns, std::move(records[r]), origin_ptr, record_lines[r]);
  }
  return table;
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("'{}': cannot open the CSV file for reading (does it exist?)", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_csv(buffer.str(), path);
}

}  // namespace perfcast
