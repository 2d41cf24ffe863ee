#include "http/metrics.h"

#include <cstdio>
#include <sstream>

#include "common/log.h"

namespace kiln::http {
namespace {

const std::vector<double> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,      2.5,   5,    10,    30,   60,  300};

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string Metrics::render_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"" + log::json_escape(labels[i].second) + "\"";
  }
  return out + "}";
}

void Metrics::counter_add(const std::string& name, const std::string& help, const Labels& labels,
                          double value) {
  std::lock_guard lock(mutex_);
  auto& family = families_[name];
  family.type = "counter";
  family.help = help;
  family.series[render_labels(labels)].value += value;
}

void Metrics::gauge_set(const std::string& name, const std::string& help, double value,
                        const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& family = families_[name];
  family.type = "gauge";
  family.help = help;
  family.series[render_labels(labels)].value = value;
}

void Metrics::observe(const std::string& name, const std::string& help, double value,
                      const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& family = families_[name];
  family.type = "histogram";
  family.help = help;
  auto& series = family.series[render_labels(labels)];
  if (series.buckets.empty()) series.buckets.assign(kLatencyBounds.size(), 0);
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    if (value <= kLatencyBounds[i]) series.buckets[i] += 1;
  }
  series.sum += value;
  series.count += 1;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto family = families_.find(name);
  if (family == families_.end()) return 0;
  auto series = family->second.series.find(render_labels(labels));
  if (series == family->second.series.end()) return 0;
  return family->second.type == "histogram" ? series->second.count : series->second.value;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  for (const auto& [name, family] : families_) {
    out << "# HELP " << name << " " << family.help << "\n# TYPE " << name << " " << family.type
        << "\n";
    for (const auto& [labels, series] : family.series) {
      if (family.type != "histogram") {
        out << name << labels << " " << format_number(series.value) << "\n";
        continue;
      }
      const std::string inner = labels.empty() ? "" : labels.substr(1, labels.size() - 2) + ",";
      for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
        out << name << "_bucket{" << inner << "le=\"" << format_number(kLatencyBounds[i]) << "\"} "
            << format_number(series.buckets[i]) << "\n";
      }
      out << name << "_bucket{" << inner << "le=\"+Inf\"} " << format_number(series.count) << "\n";
      out << name << "_sum" << labels << " " << format_number(series.sum) << "\n";
      out << name << "_count" << labels << " " << format_number(series.count) << "\n";
    }
  }
  return out.str();
}

}  // namespace kiln::http
