#include "tide.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("tide %s\n", TIDE_VERSION_STRING);
    return 0;
}
