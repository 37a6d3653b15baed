// The mx addon gets the same SIGTERM/SIGINT guard as the engine addon (see ../src/term_guard.cpp).
#include "../src/term_guard.cpp"
