// Shared by the libvirt edge tests: where the test:/// node file is and how
// to define throwaway domains on test:///default.
#pragma once

#include <libvirt/libvirt.h>

#include <cstdlib>
#include <string>

#include "agent/libvirt/connection.h"
#include "agent/libvirt/handles.h"
#include "agent/libvirt/libvirt_error.h"

namespace kvhost::testing {

// test:///<abs path>/tests/data/libvirt/node.xml; every open is a private copy of that node.
inline std::string NodeXmlUri() {
  const char* source = std::getenv("KVHOST_SOURCE_DIR");
  std::string root = source != nullptr ? source : KVHOST_TEST_SOURCE_DIR;
  return "test://" + root + "/tests/data/libvirt/node.xml";
}

inline LibvirtConnection OpenTestNode() { return LibvirtConnection::Open(NodeXmlUri()); }

// A minimal test-driver domain; metadata_type adds our <kvhost:instance>.
inline std::string TestDomainXml(const std::string& name, unsigned vcpus,
                                 const std::string& metadata_type = "") {
  std::string xml = "<domain type='test'><name>" + name + "</name>";
  if (!metadata_type.empty()) {
    xml += "<metadata><kvhost:instance xmlns:kvhost='https://kvhost.cozystack.io/xmlns/v1' type='" +
           metadata_type + "'/></metadata>";
  }
  xml += "<memory unit='KiB'>524288</memory><vcpu>" + std::to_string(vcpus) +
         "</vcpu><os><type>hvm</type></os></domain>";
  return xml;
}

inline DomainHandle DefineDomain(const LibvirtConnection& connection, const std::string& xml) {
  DomainHandle domain(virDomainDefineXML(connection.raw(), xml.c_str()));
  if (!domain) ThrowLastLibvirtError("define a test domain");
  return domain;
}

}  // namespace kvhost::testing
