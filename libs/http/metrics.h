// Prometheus metrics in the text exposition format: counters, gauges and histograms with labels.
// Cheap enough for hot paths (one mutex per family lookup; values are atomics).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A metric family's name and help text, declared once (a service's metrics.h) and passed to the
// calls below in place of the two strings.
struct Metric {
  const char* name;
  const char* help;
};

class Metrics {
 public:
  void counter_add(const std::string& name, const std::string& help, const Labels& labels = {},
                   double value = 1);
  void gauge_set(const std::string& name, const std::string& help, double value,
                 const Labels& labels = {});
  // Observes a value (seconds) into a histogram with fixed latency buckets.
  void observe(const std::string& name, const std::string& help, double value,
               const Labels& labels = {});

  void counter_add(const Metric& metric, const Labels& labels = {}, double value = 1) {
    counter_add(metric.name, metric.help, labels, value);
  }
  void gauge_set(const Metric& metric, double value, const Labels& labels = {}) {
    gauge_set(metric.name, metric.help, value, labels);
  }
  void observe(const Metric& metric, double value, const Labels& labels = {}) {
    observe(metric.name, metric.help, value, labels);
  }

  double value(const std::string& name, const Labels& labels = {}) const;
  std::string render() const;  // text/plain; version=0.0.4

 private:
  struct Series {
    double value = 0;
    std::vector<double> buckets;  // histogram: cumulative counts per bound
    double sum = 0;
    double count = 0;
  };
  struct Family {
    std::string type;
    std::string help;
    std::map<std::string, Series> series;  // key: rendered label set
  };
  static std::string render_labels(const Labels& labels);
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace kiln::http
