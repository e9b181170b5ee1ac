// Runs an Arduino sketch as the Arduino core would: setup() once, then
// loop() - here a fixed number of times, then the program ends.
#include "Arduino.h"

HardwareSerialStub Serial;

void setup();
void loop();

int main() {
  setup();
  for (int i = 0; i < 4000; ++i) loop();
  board::print("sketch ran 4000 loops\n");
  return 0;
}
