// kiln-config-docs: prints docs/configuration.md (see configuration_doc.h).
#include <iostream>

#include "config-docs/configuration_doc.h"

int main() {
  std::cout << kiln::docs::configuration_markdown();
  return 0;
}
