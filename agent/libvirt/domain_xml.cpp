#include "agent/libvirt/domain_xml.h"

#include <cctype>
#include <optional>

#include "base/cpu_set.h"  // FormatError

namespace kvhost {

namespace {

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view text, size_t pos) {
  while (pos < text.size() && IsXmlSpace(text[pos])) ++pos;
  return pos;
}

// Position of the start tag "<name" (followed by space, '>' or '/') at or after
// from, or npos. A longer name such as <hugepagesX> does not match.
size_t FindStartTag(std::string_view xml, std::string_view name, size_t from = 0) {
  std::string opener = "<" + std::string(name);
  for (size_t pos = xml.find(opener, from); pos != std::string_view::npos;
       pos = xml.find(opener, pos + 1)) {
    size_t after = pos + opener.size();
    if (after < xml.size() && (IsXmlSpace(xml[after]) || xml[after] == '>' || xml[after] == '/')) {
      return pos;
    }
  }
  return std::string_view::npos;
}

// The five entities XML predefines; nullopt for any other name.
std::optional<char> PredefinedEntity(std::string_view name) {
  if (name == "amp") return '&';
  if (name == "lt") return '<';
  if (name == "gt") return '>';
  if (name == "quot") return '"';
  if (name == "apos") return '\'';
  return std::nullopt;
}

// "#46" or "#x2E" (without '&' and ';'). Instance type names are ASCII, so a
// reference beyond it (which would need UTF-8 encoding) is refused.
char AsciiCharacterReference(std::string_view reference) {
  std::string entity = "&" + std::string(reference) + ";";
  bool hex = reference.size() > 1 && reference[1] == 'x';
  std::string_view digits = reference.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 4) throw FormatError("bad character reference " + entity);
  for (char d : digits) {
    auto c = static_cast<unsigned char>(d);
    if (!(hex ? std::isxdigit(c) : std::isdigit(c))) {
      throw FormatError("bad character reference " + entity);
    }
  }
  unsigned long code = std::stoul(std::string(digits), nullptr, hex ? 16 : 10);
  if (code == 0 || code > 0x7f) throw FormatError("non-ASCII character reference " + entity);
  return static_cast<char>(code);
}

// Replaces entities and character references; any other '&' sequence is
// malformed or outside what this parser promises.
std::string DecodeAttributeValue(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    size_t end = raw.find(';', i);
    if (end == std::string_view::npos) throw FormatError("unterminated entity in attribute value");
    std::string_view entity = raw.substr(i + 1, end - i - 1);
    if (std::optional<char> c = PredefinedEntity(entity)) {
      out += *c;
    } else if (!entity.empty() && entity[0] == '#') {
      out += AsciiCharacterReference(entity);
    } else {
      throw FormatError("unknown entity &" + std::string(entity) + ";");
    }
    i = end;
  }
  return out;
}

std::string_view LocalName(std::string_view qualified) {
  size_t colon = qualified.find(':');
  return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
}

}  // namespace

std::string ParseInstanceTypeElement(std::string_view xml) {
  size_t pos = SkipSpace(xml, 0);
  if (pos >= xml.size() || xml[pos] != '<')
    throw FormatError("metadata does not start with an element");
  ++pos;
  size_t name_end = pos;
  while (name_end < xml.size() && !IsXmlSpace(xml[name_end]) && xml[name_end] != '>' &&
         xml[name_end] != '/') {
    ++name_end;
  }
  std::string_view element = xml.substr(pos, name_end - pos);
  if (LocalName(element) != "instance") {
    throw FormatError("metadata element is <" + std::string(element) + ">, expected <instance>");
  }

  std::optional<std::string> type;
  pos = name_end;
  while (true) {
    pos = SkipSpace(xml, pos);
    if (pos >= xml.size()) throw FormatError("unterminated <instance> start tag");
    if (xml[pos] == '>' || xml[pos] == '/') break;
    size_t attr_end = pos;
    while (attr_end < xml.size() && !IsXmlSpace(xml[attr_end]) && xml[attr_end] != '=') ++attr_end;
    std::string_view attribute = xml.substr(pos, attr_end - pos);
    pos = SkipSpace(xml, attr_end);
    if (pos >= xml.size() || xml[pos] != '=') {
      throw FormatError("attribute '" + std::string(attribute) + "' has no value");
    }
    pos = SkipSpace(xml, pos + 1);
    if (pos >= xml.size() || (xml[pos] != '"' && xml[pos] != '\'')) {
      throw FormatError("attribute '" + std::string(attribute) + "' value is not quoted");
    }
    char quote = xml[pos];
    size_t value_end = xml.find(quote, pos + 1);
    if (value_end == std::string_view::npos) {
      throw FormatError("attribute '" + std::string(attribute) + "' value is not terminated");
    }
    std::string_view raw_value = xml.substr(pos + 1, value_end - pos - 1);
    if (raw_value.find('<') != std::string_view::npos) {
      throw FormatError("attribute '" + std::string(attribute) + "' contains '<'");
    }
    // Only the unprefixed attribute is ours: a prefixed "x:type" lives in another
    // namespace, and xmlns declarations are not data.
    if (attribute == "type") {
      if (type) throw FormatError("attribute 'type' appears twice");
      type = DecodeAttributeValue(raw_value);
    }
    pos = value_end + 1;
  }
  if (!type) throw FormatError("<instance> has no type attribute");
  if (type->empty()) throw FormatError("<instance> has an empty type attribute");
  return *type;
}

bool DomainXmlRequestsHugepages(std::string_view xml) {
  std::string without_metadata(xml);
  if (size_t start = FindStartTag(without_metadata, "metadata"); start != std::string::npos) {
    size_t close = without_metadata.find("</metadata>", start);
    size_t self_close = without_metadata.find("/>", start);
    size_t first_gt = without_metadata.find('>', start);
    if (self_close != std::string::npos && self_close + 1 == first_gt) {
      without_metadata.erase(start, first_gt + 1 - start);  // <metadata/>
    } else if (close != std::string::npos) {
      without_metadata.erase(start, close + std::string_view("</metadata>").size() - start);
    } else {
      throw FormatError("domain XML has an unterminated <metadata>");
    }
  }

  size_t backing = FindStartTag(without_metadata, "memoryBacking");
  if (backing == std::string::npos) return false;
  size_t tag_end = without_metadata.find('>', backing);
  if (tag_end == std::string::npos)
    throw FormatError("domain XML has an unterminated <memoryBacking>");
  if (without_metadata[tag_end - 1] == '/') return false;  // <memoryBacking/>
  size_t close = without_metadata.find("</memoryBacking>", tag_end);
  if (close == std::string::npos)
    throw FormatError("domain XML has an unterminated <memoryBacking>");
  size_t hugepages = FindStartTag(without_metadata, "hugepages", tag_end);
  return hugepages != std::string::npos && hugepages < close;
}

}  // namespace kvhost
