-- wrk script: plain GET of the URL given on the command line, with the bearer
-- token from BENCH_TOKEN. No request()/response() functions, so wrk builds the
-- request once and does not hand responses to Lua (cheapest for the client).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
