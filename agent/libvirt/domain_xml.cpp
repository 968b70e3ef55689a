#include "agent/libvirt/domain_xml.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include <climits>
#include <memory>

#include "base/cpu_set.h"  // FormatError

namespace kvhost {

namespace {

struct ParserContextFree {
  void operator()(xmlParserCtxt* context) const { xmlFreeParserCtxt(context); }
};
struct DocumentFree {
  void operator()(xmlDoc* document) const { xmlFreeDoc(document); }
};
struct XmlCharFree {
  void operator()(xmlChar* text) const { xmlFree(text); }
};
using ParserContext = std::unique_ptr<xmlParserCtxt, ParserContextFree>;
using Document = std::unique_ptr<xmlDoc, DocumentFree>;
using XmlText = std::unique_ptr<xmlChar, XmlCharFree>;

// No external subset or entity is ever fetched (no DTDLOAD, no NOENT, no
// network); errors come back through the context instead of stderr.
constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

// SAX hook for "<!DOCTYPE": stops the parse before any declaration in it is
// read, so no entity it declares is ever expanded or loaded.
void RefuseDoctype(void* user_data, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* context = static_cast<xmlParserCtxt*>(user_data);
  *static_cast<bool*>(context->_private) = true;
  xmlStopParser(context);
}

std::string LibxmlReason(xmlParserCtxt* context) {
  const xmlError* error = xmlCtxtGetLastError(context);
  if (error == nullptr || error->message == nullptr) return "not well-formed";
  std::string reason = error->message;
  while (!reason.empty() && reason.back() == '\n') reason.pop_back();
  return "line " + std::to_string(error->line) + ": " + reason;
}

// A well-formed document without a DOCTYPE, or FormatError saying why not.
Document ParseDocument(std::string_view xml, std::string_view what) {
  const std::string subject(what);
  if (xml.size() > kMaxLibvirtXmlBytes) {
    throw FormatError(subject + " is " + std::to_string(xml.size()) + " bytes, over the " +
                      std::to_string(kMaxLibvirtXmlBytes) + " libvirt can return");
  }
  // Once per process, before the first parse (libxml2 asks threaded users to).
  static const bool initialised = (xmlInitParser(), true);
  (void)initialised;
  ParserContext context(xmlCreateMemoryParserCtxt(xml.data(), static_cast<int>(xml.size())));
  if (!context) throw FormatError(subject + " is empty or could not be read");
  xmlCtxtUseOptions(context.get(), kParseOptions);
  bool saw_doctype = false;
  context->_private = &saw_doctype;
  context->sax->internalSubset = RefuseDoctype;
  const bool parsed = xmlParseDocument(context.get()) == 0;
  Document document(context->myDoc);
  context->myDoc = nullptr;
  if (saw_doctype) {
    throw FormatError(subject + " has a DOCTYPE; libvirt never writes one (entities refused)");
  }
  if (!parsed || !context->wellFormed || !document) {
    throw FormatError(subject + " is malformed: " + LibxmlReason(context.get()));
  }
  return document;
}

std::string LocalName(const xmlNode* element) {
  return reinterpret_cast<const char*>(element->name);
}

// The first child element of parent named name in no namespace (libvirt's
// own elements are never namespaced), or nullptr.
const xmlNode* ChildElement(const xmlNode* parent, std::string_view name) {
  for (const xmlNode* child = parent->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && child->ns == nullptr && LocalName(child) == name) {
      return child;
    }
  }
  return nullptr;
}

}  // namespace

std::string ParseInstanceTypeElement(std::string_view xml) {
  Document document = ParseDocument(xml, "instance metadata");
  const xmlNode* root = xmlDocGetRootElement(document.get());
  if (LocalName(root) != "instance") {
    throw FormatError("metadata element is <" + LocalName(root) + ">, expected <instance>");
  }
  // Only the unprefixed attribute is ours: a prefixed "x:type" lives in another
  // namespace, and xmlns declarations are not data.
  XmlText value(xmlGetNoNsProp(root, BAD_CAST "type"));
  if (!value) throw FormatError("<instance> has no type attribute");
  std::string type = reinterpret_cast<const char*>(value.get());
  if (type.empty()) throw FormatError("<instance> has an empty type attribute");
  for (unsigned char c : type) {
    // Instance type names are Kubernetes object names: ASCII.
    if (c > 0x7f) throw FormatError("<instance> type '" + type + "' is not ASCII");
  }
  return type;
}

bool DomainXmlRequestsHugepages(std::string_view xml) {
  Document document = ParseDocument(xml, "domain XML");
  const xmlNode* root = xmlDocGetRootElement(document.get());
  if (LocalName(root) != "domain") {
    throw FormatError("domain XML has <" + LocalName(root) + "> as its root, expected <domain>");
  }
  // Only <domain>'s own <memoryBacking> counts: a copy inside <metadata> (or
  // anywhere deeper) belongs to another application.
  const xmlNode* backing = ChildElement(root, "memoryBacking");
  return backing != nullptr && ChildElement(backing, "hugepages") != nullptr;
}

}  // namespace kvhost
