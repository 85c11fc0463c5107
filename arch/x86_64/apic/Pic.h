// The legacy 8259A interrupt controllers: remapped away from the exception
// vectors and masked, since every line goes through the IOAPIC instead.
#pragma once

namespace pic {

void disable();

} // namespace pic
