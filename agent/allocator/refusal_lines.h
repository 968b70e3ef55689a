// Why a VM does not fit: a few lines of plain words, kept in one string.
//
// Capacity refuses every type of the catalog at least once (all of them on a
// small host), and a std::vector<std::string> made one heap block for the list
// and one per line: most of what a refusal cost. Here the lines share one
// block, each stored behind its length, so any text (a NUL in a name
// included) comes back exactly as it went in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>

namespace kvhost {

class RefusalLines {
 public:
  // Lines in the order they were added, as string_views into this object.
  class const_iterator {
   public:
    using value_type = std::string_view;
    using reference = std::string_view;
    using pointer = void;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::forward_iterator_tag;

    const_iterator() = default;
    explicit const_iterator(const char* at) : at_(at) {}
    std::string_view operator*() const { return {at_ + sizeof(Length), LengthAt(at_)}; }
    const_iterator& operator++() {
      at_ += sizeof(Length) + LengthAt(at_);
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    const char* at_ = nullptr;
  };
  using iterator = const_iterator;  // read-only: a line is never changed in place
  using value_type = std::string_view;

  void push_back(std::string_view line) {
    const size_t needed = text_.size() + sizeof(Length) + line.size();
    // The first line takes room for a second of its kind (a CPU line and a
    // memory line is the common refusal), so it rarely grows.
    if (needed > text_.capacity()) text_.reserve(std::max(needed, 2 * needed + kSlack));
    Length length = static_cast<Length>(line.size());
    text_.append(reinterpret_cast<const char*>(&length), sizeof length);
    text_.append(line);
    ++count_;
  }

  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  const_iterator begin() const { return const_iterator(text_.data()); }
  const_iterator end() const { return const_iterator(text_.data() + text_.size()); }
  std::string_view front() const { return *begin(); }
  std::string_view operator[](size_t i) const { return *std::next(begin(), static_cast<long>(i)); }
  bool operator==(const RefusalLines& o) const { return text_ == o.text_; }

  // The lines joined, each after `before` ("; " gives "; a; b").
  std::string Prefixed(std::string_view before) const {
    std::string out;
    for (std::string_view line : *this) out.append(before).append(line);
    return out;
  }

 private:
  using Length = uint32_t;  // a refusal line is far below 4 GiB
  static constexpr size_t kSlack = 32;

  static size_t LengthAt(const char* at) {
    Length length;
    std::memcpy(&length, at, sizeof length);
    return length;
  }

  std::string text_;  // for each line: its length (native order), then its bytes
  size_t count_ = 0;
};

}  // namespace kvhost
