// The registry. Series live in node-based maps owned by families that are
// never destroyed before the registry, so the raw pointers in handles stay
// valid; each series is aligned to a cache line of its own, so threads
// updating different series never share a line.
#include "tollgate/ops/metrics.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

namespace tollgate::ops {
namespace detail {

struct alignas(64) CounterCell {
  std::atomic<std::uint64_t> value{0};
};

inline constexpr std::size_t kMaxBuckets = 30;  // bounds per histogram; +Inf is one more

struct alignas(64) HistogramCell {
  const std::vector<double>* bounds = nullptr;  // the family's, which outlives the cell
  std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> counts{};  // per bucket, not cumulative
  std::atomic<double> sum{0};
};

}  // namespace detail

namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Label values admitted so far, per label; past the cap, "other".
class LabelAdmission {
 public:
  explicit LabelAdmission(const std::vector<LabelSpec>& specs) : specs_(specs), admitted_(specs.size()) {}

  // Call with the family's mutex held.
  std::vector<std::string> admit(const std::vector<std::string_view>& values) {
    if (values.size() != specs_.size())
      throw std::invalid_argument("metrics: expected " + std::to_string(specs_.size()) + " label values, got " +
                                  std::to_string(values.size()));
    std::vector<std::string> out;
    out.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      auto& seen = admitted_[i];
      auto it = seen.find(values[i]);
      const auto& reserved = specs_[i].reserved;
      if (std::find(reserved.begin(), reserved.end(), values[i]) != reserved.end()) {
        out.emplace_back(values[i]);
      } else if (it != seen.end()) {
        out.emplace_back(*it);
      } else if (seen.size() < specs_[i].max_values) {
        out.emplace_back(*seen.emplace(values[i]).first);
      } else {
        out.emplace_back(kOtherLabelValue);
      }
    }
    return out;
  }

 private:
  const std::vector<LabelSpec>& specs_;
  std::vector<std::set<std::string, std::less<>>> admitted_;
};

std::vector<std::pair<std::string, std::string>> zip_labels(const std::vector<LabelSpec>& specs,
                                                            const std::vector<std::string>& values) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) out.emplace_back(specs[i].name, values[i]);
  return out;
}

}  // namespace

void Counter::inc(std::uint64_t n) const noexcept {
  if (cell_) cell_->value.fetch_add(n, std::memory_order_relaxed);
}
std::uint64_t Counter::value() const noexcept { return cell_ ? cell_->value.load(std::memory_order_relaxed) : 0; }

void Histogram::observe(double value) const noexcept {
  if (!cell_) return;
  const auto& bounds = *cell_->bounds;
  std::size_t i = 0;
  while (i < bounds.size() && value > bounds[i]) ++i;  // le: a value equal to a bound is in that bucket
  cell_->counts[i].fetch_add(1, std::memory_order_relaxed);
  cell_->sum.fetch_add(value, std::memory_order_relaxed);
}

std::string_view Sample::label(std::string_view name) const noexcept {
  for (const auto& [k, v] : labels)
    if (k == name) return v;
  return {};
}

// ---- families ----

struct CounterFamily::Impl {
  std::vector<LabelSpec> specs;
  std::mutex mu;
  LabelAdmission admission{specs};
  std::map<std::vector<std::string>, std::unique_ptr<detail::CounterCell>> series;

  explicit Impl(std::vector<LabelSpec> s) : specs(std::move(s)), admission(specs) {}
};

CounterFamily::CounterFamily(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CounterFamily::~CounterFamily() = default;

Counter CounterFamily::with(std::initializer_list<std::string_view> values) {
  return with(std::vector<std::string_view>(values));
}

Counter CounterFamily::with(const std::vector<std::string_view>& values) {
  std::lock_guard lock(impl_->mu);
  auto key = impl_->admission.admit(values);
  auto& cell = impl_->series[std::move(key)];
  if (!cell) cell = std::make_unique<detail::CounterCell>();
  return Counter(cell.get());
}

struct HistogramFamily::Impl {
  std::vector<LabelSpec> specs;
  std::vector<double> bounds;
  std::mutex mu;
  LabelAdmission admission{specs};
  std::map<std::vector<std::string>, std::unique_ptr<detail::HistogramCell>> series;

  Impl(std::vector<LabelSpec> s, std::vector<double> b) : specs(std::move(s)), bounds(std::move(b)), admission(specs) {}
};

HistogramFamily::HistogramFamily(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HistogramFamily::~HistogramFamily() = default;

Histogram HistogramFamily::with(std::initializer_list<std::string_view> values) {
  return with(std::vector<std::string_view>(values));
}

Histogram HistogramFamily::with(const std::vector<std::string_view>& values) {
  std::lock_guard lock(impl_->mu);
  auto key = impl_->admission.admit(values);
  auto& cell = impl_->series[std::move(key)];
  if (!cell) {
    cell = std::make_unique<detail::HistogramCell>();
    cell->bounds = &impl_->bounds;
  }
  return Histogram(cell.get());
}

// ---- gauge registrations ----

GaugeRegistration::GaugeRegistration(GaugeRegistration&& other) noexcept
    : registry_(other.registry_), id_(other.id_) {
  other.registry_ = nullptr;
}

GaugeRegistration& GaugeRegistration::operator=(GaugeRegistration&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = other.registry_;
    id_ = other.id_;
    other.registry_ = nullptr;
  }
  return *this;
}

GaugeRegistration::~GaugeRegistration() { reset(); }

void GaugeRegistration::reset() {
  if (registry_) registry_->unregister(id_);
  registry_ = nullptr;
}

// ---- registry ----

namespace {

struct Family {
  FamilySnapshot::Type type;
  std::string name, help;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<HistogramFamily> histogram;
  std::vector<std::pair<std::uint64_t, GaugeCallback>> callbacks;
};

class SummingSink final : public GaugeSink {
 public:
  explicit SummingSink(std::size_t labels) : labels_(labels) {}
  void set(std::initializer_list<std::string_view> values, double value) override {
    set(std::vector<std::string_view>(values), value);
  }
  void set(const std::vector<std::string_view>& values, double value) override {
    if (values.size() != labels_) return;
    values_[std::vector<std::string>(values.begin(), values.end())] += value;
  }
  const std::map<std::vector<std::string>, double>& values() const { return values_; }

 private:
  std::size_t labels_;
  std::map<std::vector<std::string>, double> values_;
};

}  // namespace

struct Registry::Impl {
  mutable std::mutex mu;
  std::vector<std::unique_ptr<Family>> families;
  std::uint64_t next_id = 1;

  Family* find(std::string_view name) const {
    for (const auto& f : families)
      if (f->name == name) return f.get();
    return nullptr;
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Registry& Registry::global() {
  // Never destroyed: worker threads may still hold handles while statics die.
  static Registry* registry = new Registry();
  return *registry;
}

namespace {

std::vector<std::string> names_of(const std::vector<LabelSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.push_back(s.name);
  return out;
}

void check_names(std::string_view name, const std::vector<std::string>& labels) {
  if (!valid_name(name, true)) throw std::invalid_argument("metrics: invalid family name " + std::string(name));
  for (const auto& l : labels)
    if (!valid_name(l, false) || l.starts_with("__") || l == "le")
      throw std::invalid_argument("metrics: invalid label name " + l + " in " + std::string(name));
}

void check_same(const Family& f, FamilySnapshot::Type type, const std::vector<std::string>& labels,
                const std::vector<double>& bounds) {
  if (f.type != type || f.label_names != labels || f.bounds != bounds)
    throw std::invalid_argument("metrics: family " + f.name + " was declared before with another type or labels");
}

}  // namespace

CounterFamily& Registry::counter(std::string_view name, std::string_view help, std::vector<LabelSpec> labels) {
  auto label_names = names_of(labels);
  check_names(name, label_names);
  std::lock_guard lock(impl_->mu);
  if (auto* f = impl_->find(name)) {
    check_same(*f, FamilySnapshot::Type::counter, label_names, {});
    return *f->counter;
  }
  auto f = std::make_unique<Family>();
  f->type = FamilySnapshot::Type::counter;
  f->name = name;
  f->help = help;
  f->label_names = std::move(label_names);
  f->counter.reset(new CounterFamily(std::make_unique<CounterFamily::Impl>(std::move(labels))));
  impl_->families.push_back(std::move(f));
  return *impl_->families.back()->counter;
}

HistogramFamily& Registry::histogram(std::string_view name, std::string_view help, std::vector<LabelSpec> labels,
                                     std::vector<double> bounds) {
  auto label_names = names_of(labels);
  check_names(name, label_names);
  if (bounds.empty() || bounds.size() > detail::kMaxBuckets || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end())
    throw std::invalid_argument("metrics: histogram " + std::string(name) + " needs 1 to 30 increasing bounds");
  std::lock_guard lock(impl_->mu);
  if (auto* f = impl_->find(name)) {
    check_same(*f, FamilySnapshot::Type::histogram, label_names, bounds);
    return *f->histogram;
  }
  auto f = std::make_unique<Family>();
  f->type = FamilySnapshot::Type::histogram;
  f->name = name;
  f->help = help;
  f->label_names = std::move(label_names);
  f->bounds = bounds;
  f->histogram.reset(new HistogramFamily(std::make_unique<HistogramFamily::Impl>(std::move(labels), std::move(bounds))));
  impl_->families.push_back(std::move(f));
  return *impl_->families.back()->histogram;
}

void Registry::gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
  check_names(name, label_names);
  std::lock_guard lock(impl_->mu);
  if (auto* f = impl_->find(name)) {
    check_same(*f, FamilySnapshot::Type::gauge, label_names, {});
    return;
  }
  auto f = std::make_unique<Family>();
  f->type = FamilySnapshot::Type::gauge;
  f->name = name;
  f->help = help;
  f->label_names = std::move(label_names);
  impl_->families.push_back(std::move(f));
}

GaugeRegistration Registry::register_gauge_callback(std::string_view name, GaugeCallback callback) {
  std::lock_guard lock(impl_->mu);
  auto* f = impl_->find(name);
  if (!f || f->type != FamilySnapshot::Type::gauge)
    throw std::invalid_argument("metrics: no gauge family " + std::string(name) + " (declare it with gauge() first)");
  auto id = impl_->next_id++;
  f->callbacks.emplace_back(id, std::move(callback));
  return GaugeRegistration(this, id);
}

void Registry::unregister(std::uint64_t id) noexcept {
  std::lock_guard lock(impl_->mu);
  for (auto& f : impl_->families) {
    auto& cbs = f->callbacks;
    cbs.erase(std::remove_if(cbs.begin(), cbs.end(), [id](const auto& c) { return c.first == id; }), cbs.end());
  }
}

std::vector<FamilySnapshot> Registry::snapshot() const {
  std::lock_guard lock(impl_->mu);
  std::vector<FamilySnapshot> out;
  out.reserve(impl_->families.size());
  for (const auto& f : impl_->families) {
    FamilySnapshot snap;
    snap.type = f->type;
    snap.name = f->name;
    snap.help = f->help;
    snap.bounds = f->bounds;
    switch (f->type) {
      case FamilySnapshot::Type::counter: {
        auto& impl = *f->counter->impl_;
        std::lock_guard family_lock(impl.mu);
        for (const auto& [values, cell] : impl.series) {
          Sample s;
          s.labels = zip_labels(impl.specs, values);
          s.value = static_cast<double>(cell->value.load(std::memory_order_relaxed));
          snap.samples.push_back(std::move(s));
        }
        break;
      }
      case FamilySnapshot::Type::histogram: {
        auto& impl = *f->histogram->impl_;
        std::lock_guard family_lock(impl.mu);
        for (const auto& [values, cell] : impl.series) {
          Sample s;
          s.labels = zip_labels(impl.specs, values);
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i <= impl.bounds.size(); ++i) {
            cumulative += cell->counts[i].load(std::memory_order_relaxed);
            s.buckets.push_back(cumulative);
          }
          // The count is the +Inf bucket, so the two always agree in a scrape.
          s.count = cumulative;
          s.sum = cell->sum.load(std::memory_order_relaxed);
          snap.samples.push_back(std::move(s));
        }
        break;
      }
      case FamilySnapshot::Type::gauge: {
        SummingSink sink(f->label_names.size());
        for (const auto& [id, cb] : f->callbacks) {
          try {
            cb(sink);
          } catch (...) {
            // A failing callback leaves its samples out; the scrape goes on.
          }
        }
        for (const auto& [values, v] : sink.values()) {
          Sample s;
          for (std::size_t i = 0; i < values.size(); ++i) s.labels.emplace_back(f->label_names[i], values[i]);
          s.value = v;
          snap.samples.push_back(std::move(s));
        }
        break;
      }
    }
    out.push_back(std::move(snap));
  }
  return out;
}

std::string Registry::render() const { return render_text(snapshot()); }

std::vector<double> latency_buckets_seconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace tollgate::ops
