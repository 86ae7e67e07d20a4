-- bench/floor.lua — wrk script for build/bench-floor: one fixed POST of a
-- submission's size (550 bytes of Chinese form fields), sent again and again.
local fields = '{"name":"张三丰","id_number":"530102199001011234","phone":"13800138000","union":"530102001","employer":"云南某某机械制造有限公司","cert_level":"技师","cert_no":"S000012345678901","cert_date":"2022-05-01","prev_level":"高级工","prev_cert_no":"S000012345678900","prev_cert_date":"2019-05-01","bank":"中国工商银行昆明分行营业部","account":"6222020200112233445","account_name":"张三丰","address":"云南省昆明市五华区某某路123号","remark":"无"}'
local body = '{"program":"bench-skill-1","category":"technician","fields":' .. fields .. '}'
req = wrk.format("POST", "/api/v1/applications", {["Content-Type"]="application/json", ["Authorization"]="Bearer 0123456789abcdef0123456789abcdef0123456789abcdef"}, body)
function request() return req end
