#include "base/cpu_set.h"

#include <charconv>

namespace kvhost {
namespace {

// CPU ids beyond this are not a real machine; they mean corrupt input.
constexpr unsigned kMaxCpuId = 1u << 16;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

unsigned ParseId(std::string_view s, std::string_view whole, unsigned nr_cpus) {
  s = Trim(s);
  if (s == "N" && nr_cpus > 0) return nr_cpus - 1;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    throw FormatError("'" + std::string(s) + "' is not a CPU number in cpulist '" +
                      std::string(whole) + "'");
  if (v >= kMaxCpuId)
    throw FormatError("CPU " + std::to_string(v) + " in cpulist '" + std::string(whole) +
                      "' is beyond any real machine");
  return v;
}

}  // namespace

CpuSet CpuSet::Range(unsigned first, unsigned last) {
  CpuSet s;
  for (unsigned c = first; c <= last; ++c) s.Add(c);
  return s;
}

void CpuSet::Resize(size_t words) {
  if (words > kInlineWords) {
    if (size_ <= kInlineWords) heap_.assign(inline_, inline_ + size_);
    heap_.resize(words, 0);
  } else if (size_ > kInlineWords) {
    std::copy(heap_.begin(), heap_.begin() + static_cast<std::ptrdiff_t>(words), inline_);
    heap_.clear();
  } else if (words > size_) {
    std::fill(inline_ + size_, inline_ + words, 0);
  }
  size_ = words;
}

void CpuSet::Remove(unsigned cpu) {
  if (cpu / 64 < size_) {
    Data()[cpu / 64] &= ~(uint64_t{1} << (cpu % 64));
    Trim();
  }
}

int CpuSet::First() const {
  const uint64_t* words = Data();
  for (size_t w = 0; w < size_; ++w)
    if (words[w]) return static_cast<int>(w * 64 + __builtin_ctzll(words[w]));
  return -1;
}

int CpuSet::Last() const {
  if (size_ == 0) return -1;
  size_t w = size_ - 1;
  return static_cast<int>(w * 64 + 63 - __builtin_clzll(Data()[w]));
}

std::vector<unsigned> CpuSet::Ids() const {
  std::vector<unsigned> ids;
  ids.reserve(Count());
  ForEach([&](unsigned c) { ids.push_back(c); });
  return ids;
}

// The binary operators build their result in place: copying an operand
// first costs as much as the operation on sets of a few words.
CpuSet CpuSet::operator|(const CpuSet& o) const {
  const CpuSet& longer = size_ >= o.size_ ? *this : o;
  const CpuSet& shorter = size_ >= o.size_ ? o : *this;
  CpuSet r;
  r.Resize(longer.size_);
  uint64_t* out = r.Data();
  const uint64_t *a = longer.Data(), *b = shorter.Data();
  for (size_t i = 0; i < shorter.size_; ++i) out[i] = a[i] | b[i];
  std::copy(a + shorter.size_, a + longer.size_, out + shorter.size_);
  return r;
}

CpuSet& CpuSet::operator|=(const CpuSet& o) {
  if (o.size_ > size_) Resize(o.size_);
  uint64_t* a = Data();
  const uint64_t* b = o.Data();
  for (size_t i = 0; i < o.size_; ++i) a[i] |= b[i];
  return *this;
}

CpuSet CpuSet::operator&(const CpuSet& o) const {
  CpuSet r;
  r.Resize(std::min(size_, o.size_));
  uint64_t* out = r.Data();
  const uint64_t *a = Data(), *b = o.Data();
  for (size_t i = 0; i < r.size_; ++i) out[i] = a[i] & b[i];
  r.Trim();
  return r;
}

CpuSet CpuSet::operator-(const CpuSet& o) const {
  CpuSet r;
  r.Resize(size_);
  uint64_t* out = r.Data();
  const uint64_t *a = Data(), *b = o.Data();
  const size_t both = std::min(size_, o.size_);
  for (size_t i = 0; i < both; ++i) out[i] = a[i] & ~b[i];
  std::copy(a + both, a + size_, out + both);
  r.Trim();
  return r;
}

CpuSet& CpuSet::operator-=(const CpuSet& o) {
  uint64_t* a = Data();
  const uint64_t* b = o.Data();
  for (size_t i = 0, n = std::min(size_, o.size_); i < n; ++i) a[i] &= ~b[i];
  Trim();
  return *this;
}

bool CpuSet::IsSubsetOf(const CpuSet& o) const {
  const uint64_t *a = Data(), *b = o.Data();
  for (size_t i = 0; i < size_; ++i)
    if (a[i] & ~(i < o.size_ ? b[i] : 0)) return false;
  return true;
}

bool CpuSet::operator==(const CpuSet& o) const {
  return size_ == o.size_ && std::equal(Data(), Data() + size_, o.Data());
}

void CpuSet::Trim() {
  size_t n = size_;
  const uint64_t* words = Data();
  while (n > 0 && words[n - 1] == 0) --n;
  if (n != size_) Resize(n);
}

std::string CpuSet::ToList() const {
  std::string out;
  int run_start = -1, prev = -2;
  auto flush = [&] {
    if (run_start < 0) return;
    if (!out.empty()) out += ',';
    out += std::to_string(run_start);
    if (prev != run_start) out += '-' + std::to_string(prev);
  };
  ForEach([&](unsigned c) {
    int ci = static_cast<int>(c);
    if (ci != prev + 1) {
      flush();
      run_start = ci;
    }
    prev = ci;
  });
  flush();
  return out;
}

CpuSet ParseCpuList(std::string_view text, unsigned nr_cpus) {
  CpuSet set;
  std::string_view whole = Trim(text);
  std::string_view rest = whole;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    // A trailing comma is an empty item too, not the end of the list.
    if (item.empty() || (comma != std::string_view::npos && Trim(rest).empty()))
      throw FormatError("empty item in cpulist '" + std::string(whole) + "'");
    std::string_view range = item, group;
    if (size_t colon = item.find(':'); colon != std::string_view::npos) {
      range = item.substr(0, colon);
      group = item.substr(colon + 1);
    }
    unsigned first, last;
    if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      first = ParseId(range.substr(0, dash), whole, nr_cpus);
      last = ParseId(range.substr(dash + 1), whole, nr_cpus);
    } else {
      first = last = ParseId(range, whole, nr_cpus);
    }
    if (last < first)
      throw FormatError("range '" + std::string(item) + "' runs backwards in cpulist '" +
                        std::string(whole) + "'");
    unsigned used = 1, size = 1;
    if (!group.empty()) {
      size_t slash = group.find('/');
      if (slash == std::string_view::npos)
        throw FormatError("group '" + std::string(item) + "' lacks '/size' in cpulist '" +
                          std::string(whole) + "'");
      used = ParseId(group.substr(0, slash), whole, 0);
      size = ParseId(group.substr(slash + 1), whole, 0);
      if (size == 0 || used == 0 || used > size)
        throw FormatError("group '" + std::string(item) + "' needs 0 < used <= size in cpulist '" +
                          std::string(whole) + "'");
    }
    for (unsigned c = first; c <= last; ++c)
      if ((c - first) % size < used) set.Add(c);
  }
  return set;
}

CpuSet ParseCpuMask(std::string_view text) {
  std::string_view whole = Trim(text);
  if (whole.empty()) return {};
  CpuSet set;
  unsigned bit = 0;
  // Walk from the least significant (rightmost) hex digit.
  for (size_t i = whole.size(); i-- > 0;) {
    char ch = whole[i];
    if (ch == ',') continue;
    int v;
    if (ch >= '0' && ch <= '9')
      v = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      v = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      v = ch - 'A' + 10;
    else
      throw FormatError("'" + std::string(1, ch) + "' is not hex in cpumask '" +
                        std::string(whole) + "'");
    for (int b = 0; b < 4; ++b)
      if (v & (1 << b)) {
        if (bit + b >= kMaxCpuId)
          throw FormatError("cpumask '" + std::string(whole) + "' too wide");
        set.Add(bit + b);
      }
    bit += 4;
  }
  return set;
}

}  // namespace kvhost
