/*
 * pwhash: prints the argon2id hash of a password with given limits, for
 * tests that need a stored hash weaker (or stranger) than the service makes.
 * usage: pwhash PASSWORD OPSLIMIT MEMLIMIT_BYTES
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    char hash[crypto_pwhash_STRBYTES];
    if (argc != 4 || sodium_init() < 0)
        return 2;
    if (crypto_pwhash_str(hash, argv[1], strlen(argv[1]), strtoull(argv[2], NULL, 10),
                          (size_t)strtoull(argv[3], NULL, 10)) != 0)
        return 1;
    puts(hash);
    return 0;
}
