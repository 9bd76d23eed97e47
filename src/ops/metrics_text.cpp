// The Prometheus text exposition format 0.0.4: # HELP, # TYPE, then one line
// per sample; histograms as _bucket{le=…} (cumulative, ending with +Inf),
// _sum and _count.
#include <charconv>
#include <cmath>

#include "tollgate/ops/metrics.hpp"

namespace tollgate::ops {
namespace {

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
    out.append(buf, end);
  }
}

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_labels(std::string& out, const std::vector<std::pair<std::string, std::string>>& labels,
                   std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_label_value(out, v);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

std::string_view type_name(FamilySnapshot::Type t) {
  switch (t) {
    case FamilySnapshot::Type::counter: return "counter";
    case FamilySnapshot::Type::gauge: return "gauge";
    case FamilySnapshot::Type::histogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string render_text(const std::vector<FamilySnapshot>& families) {
  std::string out;
  out.reserve(families.size() * 256);
  for (const auto& f : families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    for (const auto& s : f.samples) {
      if (f.type != FamilySnapshot::Type::histogram) {
        out += f.name;
        append_labels(out, s.labels);
        out += ' ';
        append_number(out, s.value);
        out += '\n';
        continue;
      }
      for (std::size_t i = 0; i < s.buckets.size(); ++i) {
        std::string le;
        if (i < f.bounds.size()) append_number(le, f.bounds[i]);
        else le = "+Inf";
        out += f.name;
        out += "_bucket";
        append_labels(out, s.labels, le);
        out += ' ';
        out += std::to_string(s.buckets[i]);
        out += '\n';
      }
      out += f.name;
      out += "_sum";
      append_labels(out, s.labels);
      out += ' ';
      append_number(out, s.sum);
      out += '\n';
      out += f.name;
      out += "_count";
      append_labels(out, s.labels);
      out += ' ';
      out += std::to_string(s.count);
      out += '\n';
    }
  }
  return out;
}

}  // namespace tollgate::ops
