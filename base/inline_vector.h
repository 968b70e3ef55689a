// A vector of at most N elements kept inside the object: no heap block. For
// the few-element lists capacity builds per instance type per count (a
// virt-launcher pod's containers, its requests), where an allocation cost as
// much as filling the list. Elements must be default-constructible; pushing
// past N throws std::length_error.
#pragma once

#include <array>
#include <cstddef>
#include <stdexcept>
#include <utility>

namespace kvhost {

template <typename T, size_t N>
class InlineVector {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return items_[i]; }
  const T& operator[](size_t i) const { return items_[i]; }
  T& front() { return items_[0]; }
  const T& front() const { return items_[0]; }
  T* begin() { return items_.data(); }
  T* end() { return items_.data() + size_; }
  const T* begin() const { return items_.data(); }
  const T* end() const { return items_.data() + size_; }

  void push_back(T value) {
    if (size_ == N) throw std::length_error("InlineVector: more than its capacity");
    items_[size_++] = std::move(value);
  }
  template <typename... Args>
  T& emplace_back(Args&&... args) {
    push_back(T{std::forward<Args>(args)...});
    return items_[size_ - 1];
  }
  // Puts `value` before `at`, moving the later elements up by one.
  void insert(T* at, T value) {
    if (size_ == N) throw std::length_error("InlineVector: more than its capacity");
    for (T* p = end(); p != at; --p) *p = std::move(*(p - 1));
    *at = std::move(value);
    ++size_;
  }

 private:
  std::array<T, N> items_{};
  size_t size_ = 0;
};

}  // namespace kvhost
