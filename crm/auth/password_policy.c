/*
 * password_policy: see password_policy.h.
 *
 * The common list holds passwords of at least PASSWORD_MIN_CHARS characters
 * only (shorter ones fail on length anyway), written by hand from the
 * worldwide leak rankings and from the Chinese ones (CSDN, 163, QQ): keyboard
 * walks, digit games (5201314 "I love you for life", 147258369 on the keypad)
 * and pinyin. It must stay lowercase and sorted by strcmp: it is searched
 * with bsearch, and a unit test guards both properties.
 */
#include "auth/password_policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const password_common[] = {
    "!qaz2wsx",     "!qaz@wsx",      "00000000",       "000000000",      "0000000000",
    "00000001",     "01234567",      "0123456789",     "0987654321",     "110110110",
    "11111111",     "111111111",     "1111111111",     "11111111a",      "11112222",
    "111222333",    "11223344",      "1122334455",     "112233445566",   "11235813",
    "119119119",    "12121212",      "121212121",      "1212121212",     "12301230",
    "123123123",    "1231231231",    "123123123123",   "123321123",      "12341234",
    "123412341234", "12344321",      "12345123",       "1234512345",     "123454321",
    "1234554321",   "123456123",     "123456123456",   "12345654321",    "123456654321",
    "12345678",     "123456789",     "1234567890",     "12345678900",    "1234567890a",
    "1234567890q",  "1234567890qwe", "1234567891",     "12345678910",    "123456789123",
    "123456789a",   "123456789abc",  "123456789q",     "123456789qwe",   "12345678a",
    "1234567a",     "123456aa",      "123456aaa",      "123456abc",      "123456asd",
    "123456qq",     "123456qwe",     "123456zxc",      "12345abc",       "12345qwert",
    "12345qwerty",  "1234abcd",      "1234asdf",       "1234qwer",       "1234zxcv",
    "123654789",    "123698745",     "123abc123",      "123qwe123",      "123qwe123qwe",
    "123qweasd",    "123qweasdzxc",  "12qwaszx",       "13145200",       "13145201314",
    "1314520520",   "1314520a",      "1314woaini",     "147147147",      "147258369",
    "147258369a",   "147852369",     "147896325",      "159357456",      "159753123",
    "159753456",    "168168168",     "16881688",       "1a1a1a1a",       "1a2b3c4d",
    "1q1q1q1q",     "1q2w3e4r",      "1q2w3e4r5t",     "1q2w3e4r5t6y",   "1qaz!qaz",
    "1qaz1qaz",     "1qaz2wsx",      "1qaz2wsx3edc",   "1qaz@wsx",       "1qazxsw2",
    "1qazxsw23edc", "22222222",      "258258258",      "2wsx2wsx",       "2wsx3edc",
    "31415926",     "3141592653",    "31415926535",    "321321321",      "321654987",
    "33333333",     "369258147",     "369369369",      "44444444",       "456456456",
    "52013140",     "5201314520",    "52013145201314", "5201314a",       "520520520",
    "520woaini",    "55555555",      "66666666",       "666666666",      "741741741",
    "741852963",    "77585210",      "7758521520",     "77777777",       "7777777a",
    "789456123",    "789632145",     "789654123",      "789789789",      "87654321",
    "88888888",     "888888888",     "963852741",      "987654321",      "9876543210",
    "987654321a",   "99999999",      "999999999",      "a1234567",       "a12345678",
    "a123456789",   "a1a1a1a1",      "a1b2c3d4",       "a1b2c3d4e5",     "a1s2d3f4",
    "a5201314",     "aa123456",      "aa12345678",     "aa123456789",    "aa5201314",
    "aaa123456",    "aaaa1111",      "aaaa1234",       "aaaaaa11",       "aaaaaaa1",
    "aaaaaaaa",     "aaaaaaaaa",     "aaaaaaaaaa",     "aabbccdd",       "abab1212",
    "abc12345",     "abc123456",     "abc1234567",     "abc12345678",    "abc123456789",
    "abc123abc",    "abc123abc123",  "abc5201314",     "abcabcabc",      "abcd1234",
    "abcd12345",    "abcd123456",    "abcdefg1",       "abcdefgh",       "abcdefghi",
    "abcdefghij",   "admin123",      "admin1234",      "admin12345",     "admin123456",
    "admin@123",    "adminadmin",    "administrator",  "administrator1", "ai1314520",
    "aini1314",     "arsenal1",      "asd123456",      "asdasdasd",      "asdf1234",
    "asdf12345",    "asdfasdf",      "asdfgh123",      "asdfghjk",       "asdfghjkl",
    "asdfghjkl123", "asdfghjkl;",    "asdqwe123",      "autumn2024",     "barcelona",
    "baseball",     "baseball1",     "basketball",     "batman123",      "blink182",
    "butterfly",    "changeme",      "changeme1",      "changeme123",    "charlie1",
    "chelsea1",     "chocolate",     "computer",       "computer1",      "corvette",
    "dearbook",     "december",      "default1",       "demo1234",       "dragon12",
    "dragon123",    "football",      "football1",      "freedom1",       "guest123",
    "hello123",     "hello1234",     "helloworld",     "helloworld1",    "hockey12",
    "huanhuan",     "iloveu123",     "iloveyou",       "iloveyou!",      "iloveyou1",
    "iloveyou12",   "iloveyou123",   "iloveyou1314",   "iloveyou2",      "iloveyou520",
    "internet",     "jennifer",      "jessica1",       "jordan123",      "jordan23",
    "killer123",    "letmein1",      "letmein12",      "letmein123",     "letmeinnow",
    "liverpool",    "liverpool1",    "lovelove",       "loveyou1",       "manchester",
    "master12",     "master123",     "matrix123",      "maverick",       "mercedes",
    "michael1",     "michelle",      "midnight",       "mima1234",       "mima123456",
    "minecraft",    "monkey12",      "monkey123",      "motdepasse",     "mustang1",
    "mypass123",    "mypassword",    "newpassword",    "november",       "p@ssw0rd",
    "p@ssw0rd1",    "p@ssword",      "p@ssword1",      "pa$$word",       "pa55word",
    "pass1234",     "pass12345",     "pass123456",     "passpass",       "passw0rd",
    "passw0rd1",    "password",      "password!",      "password01",     "password1",
    "password12",   "password123",   "password1234",   "password12345",  "password2",
    "password2023", "password2024",  "password2025",   "password3",      "password99",
    "passwort",     "passwort1",     "pokemon1",       "pokemon123",     "princess",
    "princess1",    "q1q1q1q1",      "q1w2e3r4",       "q1w2e3r4t5",     "q1w2e3r4t5y6",
    "qaz123456",    "qazwsx123",     "qazwsxedc",      "qazwsxedc123",   "qazxswedc",
    "qq123456",     "qq12345678",    "qq123456789",    "qqqqqqqq",       "qwaszx12",
    "qwe12345",     "qwe123456",     "qwe123qwe",      "qweasd123",      "qweasdzxc",
    "qweasdzxc123", "qweqwe123",     "qweqweqwe",      "qwer1234",       "qwerasdf",
    "qwerasdfzxcv", "qwerty01",      "qwerty1!",       "qwerty11",       "qwerty12",
    "qwerty123",    "qwerty1234",    "qwerty12345",    "qwerty123456",   "qwerty2024",
    "qwerty321",    "qwerty789",     "qwertyqwerty",   "qwertyu1",       "qwertyui",
    "qwertyuio",    "qwertyuiop",    "qwertyuiop123",  "qwertyuiop[]",   "ranger12",
    "root1234",     "root123456",    "rootroot",       "samantha",       "secret123",
    "september",    "shadow12",      "shadow123",      "soccer12",       "soccer123",
    "spiderman",    "spring2024",    "starwars",       "starwars1",      "summer12",
    "summer123",    "summer2023",    "summer2024",     "sunshine",       "sunshine1",
    "superman",     "superman1",     "temp1234",       "test1234",       "test12345",
    "test123456",   "testing123",    "testtest",       "thomas12",       "tingting",
    "toor1234",     "trustno1",      "trustno12",      "user1234",       "wang1234",
    "wangwang",     "welcome01",     "welcome1",       "welcome12",      "welcome123",
    "welcome1234",  "welcome2",      "whatever",       "whatever1",      "winter12",
    "woaini00",     "woaini123",     "woaini123456",   "woaini1314",     "woaini1314520",
    "woaini520",    "woaini5201314", "woaini521",      "woainiwoaini",   "woaiwojia",
    "woaiwoziji",   "wodemima",      "wwwwwwww",       "xiaoming",       "xiaoxiao",
    "xiazhili",     "xsw21qaz",      "xxxxxxxx",       "yangyang",       "zaq12wsx",
    "zaq1xsw2",     "zaq1zaq1",      "zhang123",       "zxc123456",      "zxcasdqwe",
    "zxcvbnm1",     "zxcvbnm12",     "zxcvbnm123",     "zxcvbnma",       "zxcvbnmasd",
    "zxczxczxc",    "zzzzzzzz",
};

#define PASSWORD_COMMON_COUNT (sizeof password_common / sizeof password_common[0])

/* What the pattern rules need to know about the whole password, gathered in
 * one pass over its code points (ASCII letters folded to lowercase). */
struct password_shape {
    size_t chars;
    uint32_t first, prev;
    int repeated;   /* every code point equals the first */
    int ascending;  /* each code point is the previous one plus 1 */
    int descending; /* each code point is the previous one minus 1 */
    int same_class; /* all ASCII digits or all ASCII letters */
};

/* Decodes the code point at s[*pos] into *cp and advances *pos. Returns 0,
 * or -1 for a stray or missing continuation byte, an overlong form, a
 * surrogate or a value above U+10FFFF (RFC 3629). */
static int password_utf8_next(const unsigned char *s, size_t len, size_t *pos, uint32_t *cp)
{
    static const uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned char lead = s[*pos];
    size_t n;
    uint32_t c;
    if (lead < 0x80) {
        n = 1;
        c = lead;
    } else if ((lead & 0xe0) == 0xc0) {
        n = 2;
        c = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
        n = 3;
        c = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
        n = 4;
        c = lead & 0x07;
    } else {
        return -1;
    }
    if (n > len - *pos)
        return -1;
    for (size_t k = 1; k < n; k++) {
        unsigned char b = s[*pos + k];
        if ((b & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (b & 0x3f);
    }
    if (c < min_for_length[n] || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
        return -1;
    *pos += n;
    *cp = c;
    return 0;
}

static uint32_t password_fold(uint32_t cp)
{
    return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp;
}

/* 1 for an ASCII digit, 2 for an ASCII letter (folded), 0 otherwise. */
static int password_char_class(uint32_t cp)
{
    if (cp >= '0' && cp <= '9')
        return 1;
    if (cp >= 'a' && cp <= 'z')
        return 2;
    return 0;
}

static void password_shape_add(struct password_shape *sh, uint32_t cp)
{
    cp = password_fold(cp);
    if (sh->chars == 0) {
        sh->first = cp;
        sh->repeated = sh->ascending = sh->descending = 1;
        sh->same_class = password_char_class(cp) != 0;
    } else {
        sh->repeated &= cp == sh->first;
        sh->ascending &= cp == sh->prev + 1;
        sh->descending &= cp + 1 == sh->prev;
        sh->same_class &= password_char_class(cp) == password_char_class(sh->first);
    }
    sh->prev = cp;
    sh->chars++;
}

/* Validates the encoding and refuses control characters while filling sh.
 * Returns PASSWORD_OK, PASSWORD_NOT_UTF8 or PASSWORD_CONTROL_CHAR. */
static enum password_verdict password_scan(const char *password, size_t len,
                                           struct password_shape *sh)
{
    const unsigned char *s = (const unsigned char *)password;
    memset(sh, 0, sizeof *sh);
    for (size_t pos = 0; pos < len;) {
        uint32_t cp;
        if (password_utf8_next(s, len, &pos, &cp) != 0)
            return PASSWORD_NOT_UTF8;
        if (cp < 0x20 || cp == 0x7f)
            return PASSWORD_CONTROL_CHAR;
        password_shape_add(sh, cp);
    }
    return PASSWORD_OK;
}

/* 1 when the len bytes of password equal username, ASCII case-insensitively. */
static int password_equals_username(const char *password, size_t len, const char *username)
{
    if (!username || strlen(username) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (password_fold((unsigned char)password[i]) != password_fold((unsigned char)username[i]))
            return 0;
    return 1;
}

static int password_common_cmp(const void *key, const void *entry)
{
    return strcmp(key, *(const char *const *)entry);
}

/* 1 when the password, folded to lowercase, is on the common list. The
 * password has been scanned, so it holds no NUL and len <= PASSWORD_MAX_BYTES. */
static int password_is_listed(const char *password, size_t len)
{
    char folded[PASSWORD_MAX_BYTES + 1];
    for (size_t i = 0; i < len; i++)
        folded[i] = (char)password_fold((unsigned char)password[i]);
    folded[len] = '\0';
    return bsearch(folded, password_common, PASSWORD_COMMON_COUNT, sizeof password_common[0],
                   password_common_cmp) != NULL;
}

enum password_verdict password_check(const char *password, size_t len, const char *username)
{
    if (len > PASSWORD_MAX_BYTES)
        return PASSWORD_TOO_LONG;
    if (!password)
        return PASSWORD_TOO_SHORT;
    struct password_shape sh;
    enum password_verdict v = password_scan(password, len, &sh);
    if (v != PASSWORD_OK)
        return v;
    if (sh.chars < PASSWORD_MIN_CHARS)
        return PASSWORD_TOO_SHORT;
    if (password_equals_username(password, len, username))
        return PASSWORD_IS_USERNAME;
    if (sh.repeated || (sh.same_class && (sh.ascending || sh.descending)))
        return PASSWORD_COMMON;
    if (password_is_listed(password, len))
        return PASSWORD_COMMON;
    return PASSWORD_OK;
}

const char *password_verdict_message(enum password_verdict v)
{
    switch (v) {
    case PASSWORD_OK:
        return "is acceptable";
    case PASSWORD_TOO_SHORT:
        return "must be at least 8 characters";
    case PASSWORD_TOO_LONG:
        return "must be at most 1024 bytes";
    case PASSWORD_NOT_UTF8:
        return "must be valid UTF-8";
    case PASSWORD_CONTROL_CHAR:
        return "must not contain control characters";
    case PASSWORD_COMMON:
        return "is too common or too easy to guess";
    case PASSWORD_IS_USERNAME:
        return "must not be the same as the username";
    }
    return "is not acceptable";
}

const char *password_common_entry(size_t i)
{
    return i < PASSWORD_COMMON_COUNT ? password_common[i] : NULL;
}
