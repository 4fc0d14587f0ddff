-- workload.lua - what a Lua program asks of its allocator, run by Debian's
-- lua5.4 under each allocator in turn (benches/tools/interp.py).
--
--   lua5.4 workload.lua ROUNDS
--
-- Each round builds and drops binary trees of tables (many small blocks
-- that the collector frees in bulk), formats and concatenates strings
-- (short-lived strings of many sizes), and grows arrays and hash tables
-- (Lua's doubling reallocs).  The work is deterministic; the checksum it
-- prints must be the same under every allocator.  Last it prints its peak
-- resident memory (VmHWM).

local rounds = tonumber(arg[1]) or 1
local checksum = 0

local function tree(depth)
  if depth == 0 then return {} end
  return { tree(depth - 1), tree(depth - 1) }
end

local function count(t)
  if t[1] then return 1 + count(t[1]) + count(t[2]) end
  return 1
end

for round = 1, rounds do
  -- trees: 2^13 nodes each, a long-lived one next to short-lived ones
  local keep = tree(13)
  for i = 1, 8 do
    checksum = checksum + count(tree(12))
  end
  checksum = checksum + count(keep)

  -- strings: formatted, repeated, cut and joined
  local parts = {}
  for i = 1, 4000 do
    local s = string.format("%d:%s|", i * round, string.rep("ab", (i * 7 + round) % 40))
    parts[#parts + 1] = s:sub(1, 1 + (i % #s))
    if #parts == 500 then
      checksum = checksum + #table.concat(parts)
      parts = {}
    end
  end

  -- tables grown one element at a time: arrays and string-keyed hashes
  for r = 1, 4 do
    local a, h = {}, {}
    for i = 1, 3000 do
      a[#a + 1] = i
      h["k" .. i] = i
    end
    checksum = checksum + #a + h["k" .. (round * r % 3000 + 1)]
  end
end

print(string.format("checksum %d", checksum))

-- the peak resident memory of this process (its own mapping: a parent's
-- peak, which ru_maxrss would carry over the exec, is not in it)
local status = io.open("/proc/self/status")
if status then
  for line in status:lines() do
    local kib = line:match("^VmHWM:%s*(%d+) kB")
    if kib then print("peak_rss_kib " .. kib) end
  end
  status:close()
end
