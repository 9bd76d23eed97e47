#pragma once
// The metrics registry: counters and histograms updated on the hot path by every
// worker thread, gauges computed at scrape time by callbacks, rendered in the
// Prometheus text format (0.0.4).
//
// Hot path: a labelled series is looked up once (`with(...)`, which locks the
// family and may allocate) and the caller keeps the handle; `inc`/`observe` on a
// handle are relaxed atomic adds on the series' own cache line(s): no lock, no
// allocation. Families are never destroyed, so handles stay valid for the life
// of the process.
//
// Bounded label sets: each label admits at most `max_values` distinct values;
// later values are folded into "other", so a family has a bounded number of
// series however many tenants or providers show up.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::ops {

inline constexpr std::string_view kOtherLabelValue = "other";

struct LabelSpec {
  std::string name;
  std::size_t max_values = 64;  // distinct values kept; the rest fold into "other"
  // Values always kept and not counted against max_values (e.g. "none").
  std::vector<std::string> reserved = {};
};

namespace detail {
struct CounterCell;
struct HistogramCell;
}  // namespace detail

// A handle on one counter series. Default-constructed handles ignore updates.
class Counter {
 public:
  Counter() = default;
  void inc(std::uint64_t n = 1) const noexcept;
  std::uint64_t value() const noexcept;

 private:
  friend class CounterFamily;
  explicit Counter(detail::CounterCell* cell) : cell_(cell) {}
  detail::CounterCell* cell_ = nullptr;
};

// A handle on one histogram series (fixed buckets). Default-constructed handles ignore updates.
class Histogram {
 public:
  Histogram() = default;
  void observe(double value) const noexcept;

 private:
  friend class HistogramFamily;
  explicit Histogram(detail::HistogramCell* cell) : cell_(cell) {}
  detail::HistogramCell* cell_ = nullptr;
};

// One scraped sample, as the dashboard reads it (the text format is rendered from the same data).
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;                       // counters and gauges
  std::vector<std::uint64_t> buckets;     // histograms: cumulative counts, one per bound, then +Inf
  double sum = 0;                         // histograms
  std::uint64_t count = 0;                // histograms (= the +Inf bucket)
  std::string_view label(std::string_view name) const noexcept;
};

struct FamilySnapshot {
  enum class Type { counter, gauge, histogram } type = Type::counter;
  std::string name;
  std::string help;
  std::vector<double> bounds;  // histograms
  std::vector<Sample> samples;
};

class CounterFamily {
 public:
  ~CounterFamily();
  // The series for these label values (one per label, in declaration order).
  // Slow: cache the handle. A wrong number of values throws std::invalid_argument.
  Counter with(std::initializer_list<std::string_view> values);
  Counter with(const std::vector<std::string_view>& values);

 private:
  friend class Registry;
  struct Impl;
  explicit CounterFamily(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class HistogramFamily {
 public:
  ~HistogramFamily();
  Histogram with(std::initializer_list<std::string_view> values);
  Histogram with(const std::vector<std::string_view>& values);

 private:
  friend class Registry;
  struct Impl;
  explicit HistogramFamily(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What a gauge callback writes into at scrape time. Samples with equal labels
// (from several callbacks of one family, e.g. one per worker) are summed.
class GaugeSink {
 public:
  // One value per label of the family, in declaration order; a wrong count is ignored.
  virtual void set(std::initializer_list<std::string_view> label_values, double value) = 0;
  virtual void set(const std::vector<std::string_view>& label_values, double value) = 0;

 protected:
  ~GaugeSink() = default;
};

using GaugeCallback = std::function<void(GaugeSink&)>;

// Keeps a gauge callback registered; unregisters it when destroyed (so an
// object can register a callback that reads itself and unregister before it
// dies). Movable, not copyable.
class GaugeRegistration {
 public:
  GaugeRegistration() = default;
  GaugeRegistration(GaugeRegistration&& other) noexcept;
  GaugeRegistration& operator=(GaugeRegistration&& other) noexcept;
  ~GaugeRegistration();
  void reset();

 private:
  friend class Registry;
  GaugeRegistration(class Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
  class Registry* registry_ = nullptr;
  std::uint64_t id_ = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process's registry (what /metrics shows).
  static Registry& global();

  // Declares a family, or returns the one of that name when it was declared
  // with the same type and labels before (std::invalid_argument otherwise, and
  // for a name or label name that Prometheus does not accept).
  CounterFamily& counter(std::string_view name, std::string_view help, std::vector<LabelSpec> labels = {});
  // `bounds`: the buckets' upper bounds, increasing; +Inf is added.
  HistogramFamily& histogram(std::string_view name, std::string_view help, std::vector<LabelSpec> labels,
                             std::vector<double> bounds);
  // A gauge family whose samples come from callbacks at scrape time. Declared
  // families with no callback are rendered with no samples.
  void gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});

  // Adds a callback to the gauge family `name` (declared with gauge() first;
  // std::invalid_argument otherwise). Runs on the scraping thread, while the
  // registry renders: it must be quick, must not block on I/O and must not call
  // back into this registry.
  [[nodiscard]] GaugeRegistration register_gauge_callback(std::string_view name, GaugeCallback callback);

  // Every family, in declaration order, with its current samples.
  std::vector<FamilySnapshot> snapshot() const;
  // The Prometheus text exposition format, version 0.0.4.
  std::string render() const;

 private:
  friend class GaugeRegistration;
  void unregister(std::uint64_t id) noexcept;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The text format of `families` (what Registry::render writes).
std::string render_text(const std::vector<FamilySnapshot>& families);

// Buckets for latencies in seconds, 1 ms … 60 s.
std::vector<double> latency_buckets_seconds();

}  // namespace tollgate::ops
